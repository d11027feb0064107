/**
 * @module web/gallery/zoom
 * Zoom, pan and swipe for the viewer's photo, with pointer events (mouse, pen and touch alike):
 * the wheel zooms around the cursor, a double click toggles 1× / 2.5× at that point, two
 * fingers pinch, one finger or the mouse drags a zoomed photo, and at 1× a horizontal swipe
 * asks for the next (left) or previous (right) photo. The scale is on the image as
 * `data-scale` (tests and styles read it).
 */
const MAX = 8;
const SWIPE_PX = 60;

export class Zoom {
  private scale = 1;
  private x = 0;
  private y = 0;
  private readonly pts = new Map<number, { x: number; y: number }>();
  private start: { x: number; y: number; t: number; dist: number; scale: number; px: number; py: number } | undefined;

  constructor(
    private readonly stage: HTMLElement,
    private readonly img: HTMLImageElement,
    private readonly swipe: (d: -1 | 1) => void,
  ) {
    stage.addEventListener('wheel', (e) => {
      if (img.hidden) return;
      e.preventDefault();
      this.at(e.clientX, e.clientY, this.scale * Math.exp(-e.deltaY * 0.0025));
    }, { passive: false });
    stage.addEventListener('dblclick', (e) => {
      if (img.hidden || (e.target as HTMLElement).closest('button, video, a, input')) return;
      this.at(e.clientX, e.clientY, this.scale > 1.01 ? 1 : 2.5);
    });
    stage.addEventListener('pointerdown', (e) => this.down(e));
    stage.addEventListener('pointermove', (e) => this.moveTo(e));
    for (const t of ['pointerup', 'pointercancel'] as const) stage.addEventListener(t, (e) => this.up(e));
    this.apply();
  }

  reset(): void {
    this.scale = 1;
    this.x = this.y = 0;
    this.apply();
  }

  by(f: number): void {
    const r = this.stage.getBoundingClientRect();
    this.at(r.left + r.width / 2, r.top + r.height / 2, this.scale * f);
  }

  /** Zooms to `s` keeping the image point under (cx, cy) in place. */
  private at(cx: number, cy: number, s: number): void {
    const next = Math.max(1, Math.min(MAX, s));
    const r = this.stage.getBoundingClientRect();
    // Offsets are from the stage's centre (the image is centred there).
    const ox = cx - (r.left + r.width / 2);
    const oy = cy - (r.top + r.height / 2);
    const k = next / this.scale;
    this.x = ox - (ox - this.x) * k;
    this.y = oy - (oy - this.y) * k;
    this.scale = next;
    if (next === 1) this.x = this.y = 0;
    this.apply();
  }

  private apply(): void {
    this.clamp();
    this.img.style.transform = this.scale === 1 ? '' : `translate(${this.x}px, ${this.y}px) scale(${this.scale})`;
    this.img.dataset.scale = String(Math.round(this.scale * 100) / 100);
    this.stage.classList.toggle('zoomed', this.scale > 1);
  }

  /** Keeps some of the image on screen. */
  private clamp(): void {
    const w = (this.img.clientWidth * this.scale) / 2;
    const h = (this.img.clientHeight * this.scale) / 2;
    this.x = Math.max(-w, Math.min(w, this.x));
    this.y = Math.max(-h, Math.min(h, this.y));
  }

  private ignore(e: PointerEvent): boolean {
    const t = e.target as HTMLElement;
    return this.img.hidden || !!t.closest('button, video, a, input');
  }

  private down(e: PointerEvent): void {
    if (this.ignore(e) || (e.pointerType === 'mouse' && e.button !== 0)) return;
    this.pts.set(e.pointerId, { x: e.clientX, y: e.clientY });
    try {
      this.stage.setPointerCapture(e.pointerId);
    } catch {
      // a synthetic pointer (tests, assistive tools) cannot be captured
    }
    this.begin();
  }

  private begin(): void {
    const p = [...this.pts.values()];
    if (!p.length) return (this.start = undefined);
    const cx = p.reduce((s, q) => s + q.x, 0) / p.length;
    const cy = p.reduce((s, q) => s + q.y, 0) / p.length;
    const dist = p.length > 1 ? Math.hypot(p[0]!.x - p[1]!.x, p[0]!.y - p[1]!.y) : 0;
    this.start = { x: cx, y: cy, t: performance.now(), dist, scale: this.scale, px: this.x, py: this.y };
  }

  private moveTo(e: PointerEvent): void {
    if (!this.pts.has(e.pointerId) || !this.start) return;
    this.pts.set(e.pointerId, { x: e.clientX, y: e.clientY });
    const p = [...this.pts.values()];
    const s = this.start;
    if (p.length > 1 && s.dist > 0) {
      const dist = Math.hypot(p[0]!.x - p[1]!.x, p[0]!.y - p[1]!.y);
      const cx = (p[0]!.x + p[1]!.x) / 2;
      const cy = (p[0]!.y + p[1]!.y) / 2;
      this.x = s.px;
      this.y = s.py;
      this.scale = s.scale;
      this.at(cx, cy, (s.scale * dist) / s.dist);
    } else if (this.scale > 1) {
      this.x = s.px + (e.clientX - s.x);
      this.y = s.py + (e.clientY - s.y);
      this.apply();
    }
  }

  private up(e: PointerEvent): void {
    if (!this.pts.has(e.pointerId)) return;
    const s = this.start;
    const single = this.pts.size === 1;
    this.pts.delete(e.pointerId);
    if (single && s && s.scale === 1 && this.scale === 1) {
      const dx = e.clientX - s.x;
      const dy = e.clientY - s.y;
      if (Math.abs(dx) > SWIPE_PX && Math.abs(dx) > 2 * Math.abs(dy) && performance.now() - s.t < 1000) this.swipe(dx < 0 ? 1 : -1);
    }
    this.begin();
  }
}
