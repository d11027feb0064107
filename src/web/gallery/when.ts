/**
 * @module web/gallery/when
 * Dates as the gallery shows them. `taken` is the camera's local wall time; it is formatted as if
 * it were UTC so that no viewer's time zone moves a photo to another day (design §3).
 */
const asUtc = (taken: string): Date => new Date(taken + 'Z');

export function monthTitle(month: string): string {
  return new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(asUtc(`${month}-01T00:00:00`));
}

export function dayTitle(day: string): string {
  return new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'long', timeZone: 'UTC' }).format(asUtc(`${day}T00:00:00`));
}

/** "Saturday, 1 June 2024 at 12:00:00 +02:00": always with the year. */
export function takenLong(taken: string, offset: string | null): string {
  const d = asUtc(taken);
  if (Number.isNaN(d.getTime())) return taken;
  const s = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium', timeZone: 'UTC' }).format(d);
  return offset ? `${s} ${offset}` : s;
}
