// Keeps the newest message in view, as Discord does, unless the reader scrolled up to read.
//
// "At the bottom" is remembered, not measured when something changes: an image that finishes
// loading (or a reload, or a progress edit that grows) makes the list taller without any scroll,
// so measuring afterwards would find the list "scrolled up" and leave the result below the fold.
// A ResizeObserver on every message (and on the list itself, which shrinks when the file bar or
// the banner appears) puts the list back at the bottom while it is stuck there. Only a scroll
// the page did not make itself (wheel, keys, scrollbar, touch) can unstick it.

const SLACK = 40; // px from the bottom that still count as "at the bottom"

export class StickyScroll {
  constructor(list) {
    this.list = list;
    this.stuck = true;
    this.ours = null; // the scrollTop the page set last: its scroll event is not the reader's
    this.resizes = new ResizeObserver(() => { if (this.stuck) this.toBottom(); });
    this.resizes.observe(list);
    list.addEventListener("scroll", () => {
      if (this.ours !== null && Math.abs(list.scrollTop - this.ours) < 1) return;
      this.ours = null;
      this.stuck = this.distance() < SLACK;
    });
  }

  distance() {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight;
  }

  // Call for each message node put in the list, so its growth keeps a stuck list at the bottom.
  watch(node) {
    this.resizes.observe(node);
    return node;
  }

  // New content: follow it only if the reader was at the bottom.
  follow() {
    if (this.stuck) this.toBottom();
  }

  // Opening a channel, or sending something yourself: jump to the newest message.
  toBottom() {
    this.stuck = true;
    this.list.scrollTop = this.list.scrollHeight;
    this.ours = this.list.scrollTop;
  }
}
