/**
 * @module web/gallery/scrubber
 * The timeline's scrubber (design web-gallery.md §4), down the right edge like Immich's: years
 * as labels, months as ticks, placed where each month starts in the (estimated) scroll height.
 * Clicking or dragging shows the month under the pointer in a label and jumps there (the
 * timeline loads that month's shard before any other). Keyboard: it is a slider; ↑/↓ move a
 * month, PageUp/PageDown a year, Home/End the newest/oldest.
 */
import { h } from '../app/dom.js';
import { monthTitle } from './when.js';

export interface ScrubMonth {
  readonly month: string;
  readonly top: number;
}

export class Scrubber {
  readonly element: HTMLElement;
  private readonly marks: HTMLElement;
  private readonly label: HTMLElement;
  private readonly now: HTMLElement;
  private months: readonly ScrubMonth[] = [];
  private height = 1;
  private current = 0;
  private dragging = false;
  private frame = 0;
  private pendingY = 0;

  constructor(private readonly jump: (month: string) => void) {
    this.marks = h('div', { class: 'g-scrub-marks', 'aria-hidden': 'true' });
    this.label = h('div', { class: 'g-scrub-label', testid: 'scrubber-label', hidden: true, 'aria-hidden': 'true' });
    this.now = h('div', { class: 'g-scrub-now', 'aria-hidden': 'true' });
    this.element = h('div', { class: 'g-scrubber', testid: 'scrubber', role: 'slider', tabindex: 0, 'aria-label': 'Jump to a month', 'aria-orientation': 'vertical', 'aria-valuemin': 0 }, this.marks, this.now, this.label);
    this.element.addEventListener('pointerdown', (e) => {
      if (e.pointerType === 'mouse' && e.button !== 0) return;
      e.preventDefault();
      this.dragging = true;
      try {
        this.element.setPointerCapture(e.pointerId);
      } catch {
        // synthetic pointers cannot be captured
      }
      this.element.classList.add('dragging');
      this.pointer(e.clientY);
    });
    this.element.addEventListener('pointermove', (e) => {
      if (this.dragging) this.pointer(e.clientY);
      else this.hover(e.clientY);
    });
    const end = (): void => {
      this.dragging = false;
      this.element.classList.remove('dragging');
      this.label.hidden = true;
    };
    this.element.addEventListener('pointerup', end);
    this.element.addEventListener('pointercancel', end);
    this.element.addEventListener('pointerleave', () => {
      if (!this.dragging) this.label.hidden = true;
    });
    this.element.addEventListener('keydown', (e) => this.key(e));
  }

  /** New geometry: where each month starts, and the whole height. */
  update(months: readonly ScrubMonth[], height: number): void {
    const changed = months.length !== this.months.length || months.some((m, i) => m.month !== this.months[i]?.month);
    this.months = months;
    this.height = Math.max(1, height);
    this.element.setAttribute('aria-valuemax', String(Math.max(0, months.length - 1)));
    if (changed) {
      this.marks.replaceChildren();
      let year = '';
      for (const m of months) {
        const y = m.month.slice(0, 4);
        const mark = h('div', { class: y !== year ? 'g-scrub-mark year' : 'g-scrub-mark', testid: 'scrubber-month', 'data-month': m.month }, y !== year ? h('span', {}, y) : null);
        year = y;
        this.marks.appendChild(mark);
      }
    }
    const marks = this.marks.children;
    months.forEach((m, i) => ((marks[i] as HTMLElement).style.top = `${(100 * m.top) / this.height}%`));
    // Year labels closer than 14 px to the previous shown one are left out (Immich does the same).
    const px = this.element.clientHeight || 600;
    let last = -Infinity;
    months.forEach((m, i) => {
      const el = marks[i] as HTMLElement;
      if (!el.classList.contains('year')) return;
      const y = (px * m.top) / this.height;
      el.classList.toggle('crowded', y - last < 14);
      if (y - last >= 14) last = y;
    });
  }

  /** The timeline scrolled to `y`: the position mark and the slider's value follow. */
  position(y: number): void {
    this.now.style.top = `${(100 * y) / this.height}%`;
    const i = this.indexAt(y);
    if (i !== this.current || !this.element.hasAttribute('aria-valuenow')) this.setCurrent(i);
  }

  private setCurrent(i: number): void {
    this.current = i;
    const m = this.months[i];
    this.element.setAttribute('aria-valuenow', String(i));
    if (m) {
      this.element.setAttribute('aria-valuetext', monthTitle(m.month));
      this.element.dataset.month = m.month;
    }
  }

  /** The month at content height `y`; `slack` forgives rounding (a scrubber pixel is many content pixels). */
  private indexAt(y: number, slack = 1): number {
    let lo = 0;
    let hi = this.months.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.months[mid]!.top <= y + slack) lo = mid;
      else hi = mid - 1;
    }
    return Math.max(0, lo);
  }

  private at(clientY: number): { month: ScrubMonth; y: number } | undefined {
    const r = this.element.getBoundingClientRect();
    const f = Math.max(0, Math.min(1, (clientY - r.top) / Math.max(1, r.height)));
    const m = this.months[this.indexAt(f * this.height, (2 * this.height) / Math.max(1, r.height))];
    return m ? { month: m, y: clientY - r.top } : undefined;
  }

  private show(month: string, y: number): void {
    this.label.textContent = monthTitle(month);
    this.label.dataset.month = month;
    this.label.style.top = `${y}px`;
    this.label.hidden = false;
  }

  private hover(clientY: number): void {
    const a = this.at(clientY);
    if (a) this.show(a.month.month, a.y);
  }

  private pointer(clientY: number): void {
    this.pendingY = clientY;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const a = this.at(this.pendingY);
      if (!a) return;
      this.show(a.month.month, a.y);
      this.jump(a.month.month);
    });
  }

  private key(e: KeyboardEvent): void {
    const n = this.months.length;
    if (!n) return;
    let i = this.current;
    const year = (d: number): number => {
      const y = this.months[i]!.month.slice(0, 4);
      let j = i;
      while (j + d >= 0 && j + d < n && this.months[j]!.month.slice(0, 4) === y) j += d;
      if (d < 0) while (j - 1 >= 0 && this.months[j - 1]!.month.slice(0, 4) === this.months[j]!.month.slice(0, 4)) j--;
      return j;
    };
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') i = Math.min(n - 1, i + 1);
    else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') i = Math.max(0, i - 1);
    else if (e.key === 'PageDown') i = year(1);
    else if (e.key === 'PageUp') i = year(-1);
    else if (e.key === 'Home') i = 0;
    else if (e.key === 'End') i = n - 1;
    else return;
    e.preventDefault();
    this.setCurrent(i);
    this.jump(this.months[i]!.month);
  }
}
