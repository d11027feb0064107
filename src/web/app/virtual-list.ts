/**
 * @module web/app/virtual-list
 * A list that keeps only the rows in view (plus a margin) in the DOM, so a folder of 100,000
 * entries scrolls like one of 100: a spacer gives the scroll height, rows are recycled and
 * positioned with transforms. Keyboard: ↑ ↓ PageUp PageDown Home End move the active row,
 * Enter opens it, Backspace goes to the parent (handled by the owner through callbacks).
 */
export interface VirtualListOptions {
  readonly rowHeight: number;
  /** Fills a (recycled) row element for item `i`. */
  readonly render: (el: HTMLElement, i: number, active: boolean) => void;
  readonly onActivate?: (i: number) => void;
  readonly onSelect?: (i: number) => void;
  /** A click (after selecting the row). */
  readonly onClick?: (i: number) => void;
  readonly onBack?: () => void;
  readonly label: string;
  readonly testid?: string;
}

export class VirtualList {
  readonly element: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly pool: HTMLElement[] = [];
  private count = 0;
  private active = -1;
  private frame = 0;

  constructor(private readonly o: VirtualListOptions) {
    this.element = document.createElement('div');
    this.element.className = 'vlist';
    this.element.tabIndex = 0;
    this.element.setAttribute('role', 'listbox');
    this.element.setAttribute('aria-label', o.label);
    if (o.testid) this.element.setAttribute('data-testid', o.testid);
    this.spacer = document.createElement('div');
    this.spacer.className = 'vlist-spacer';
    this.element.appendChild(this.spacer);
    this.element.addEventListener('scroll', () => this.schedule(), { passive: true });
    this.element.addEventListener('keydown', (e) => this.key(e));
    new ResizeObserver(() => this.schedule()).observe(this.element);
  }

  setCount(n: number): void {
    this.count = n;
    this.active = -1;
    this.spacer.style.height = `${n * this.o.rowHeight}px`;
    this.element.scrollTop = 0;
    this.draw();
  }

  get activeIndex(): number {
    return this.active;
  }

  setActive(i: number, scroll = true): void {
    if (i < 0 || i >= this.count) return;
    this.active = i;
    this.element.setAttribute('aria-activedescendant', `vrow-${i}`);
    if (scroll) {
      const top = i * this.o.rowHeight;
      const view = this.element.clientHeight;
      if (top < this.element.scrollTop) this.element.scrollTop = top;
      else if (top + this.o.rowHeight > this.element.scrollTop + view) this.element.scrollTop = top + this.o.rowHeight - view;
    }
    this.draw();
    this.o.onSelect?.(i);
  }

  /** Redraws the visible rows (after the items changed). */
  refresh(): void {
    this.draw();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    const h = this.o.rowHeight;
    const view = this.element.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.element.scrollTop / h) - 8);
    const last = Math.min(this.count, Math.ceil((this.element.scrollTop + view) / h) + 8);
    const need = Math.max(0, last - first);
    while (this.pool.length < need) {
      const row = document.createElement('div');
      row.className = 'vrow';
      row.setAttribute('role', 'option');
      row.addEventListener('click', () => {
        const i = Number(row.dataset.index);
        this.setActive(i, false);
        this.o.onClick?.(i);
      });
      row.addEventListener('dblclick', () => this.o.onActivate?.(Number(row.dataset.index)));
      this.element.appendChild(row);
      this.pool.push(row);
    }
    for (let k = 0; k < this.pool.length; k++) {
      const row = this.pool[k]!;
      const i = first + k;
      if (k >= need) {
        row.hidden = true;
        continue;
      }
      row.hidden = false;
      row.dataset.index = String(i);
      row.id = `vrow-${i}`;
      row.style.transform = `translateY(${i * h}px)`;
      row.style.height = `${h}px`;
      row.setAttribute('aria-selected', String(i === this.active));
      this.o.render(row, i, i === this.active);
    }
  }

  private key(e: KeyboardEvent): void {
    const page = Math.max(1, Math.floor(this.element.clientHeight / this.o.rowHeight) - 1);
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    if (e.key in moves) this.setActive(Math.min(this.count - 1, Math.max(0, (this.active < 0 ? 0 : this.active) + moves[e.key]!)));
    else if (e.key === 'Home') this.setActive(0);
    else if (e.key === 'End') this.setActive(this.count - 1);
    else if (e.key === 'Enter' && this.active >= 0) this.o.onActivate?.(this.active);
    else if (e.key === 'Backspace' || (e.key === 'ArrowLeft' && e.altKey)) this.o.onBack?.();
    else return;
    e.preventDefault();
  }
}
