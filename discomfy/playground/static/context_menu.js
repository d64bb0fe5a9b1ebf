// A message's context menu (right-click, or its "…" button), as in Discord: the Apps section
// lists the message commands the bot registered (type 3 application commands, such as
// "Upscale") that the current user is offered, and runs the chosen one on that message.
// The list is fetched each time the menu opens, so a hot reload or a user switch shows up.

import { el } from "./render.js";

export class MessageMenu {
  constructor(app) {
    this.app = app;
    this.node = el("div", { id: "context-menu", class: "context-menu", role: "menu", hidden: true });
    document.body.append(this.node);
    this.seq = 0;
    const close = (e) => { if (!this.node.hidden && !this.node.contains(e.target)) this.close(); };
    document.addEventListener("mousedown", close, true);
    document.addEventListener("keydown", (e) => { if (e.key === "Escape") this.close(); });
    window.addEventListener("resize", () => this.close());
    app.list.addEventListener("scroll", () => this.close());
  }

  async open(msg, x, y) {
    const seq = ++this.seq;
    this.message = msg;
    this.node.dataset.forMessage = msg.id;
    this.draw([el("div", { class: "menu-title" }, "Apps"), el("div", { class: "menu-note" }, "Loading…")], x, y);
    const query = this.app.user ? `?user=${encodeURIComponent(this.app.user)}` : "";
    let commands = [];
    try {
      commands = await (await fetch(`/api/message-commands${query}`)).json();
    } catch { /* the playground stopped: the status line says so */ }
    if (seq !== this.seq || this.node.hidden) return;
    const items = Array.isArray(commands) && commands.length
      ? commands.map((c) => el("button", { type: "button", class: "menu-item", role: "menuitem", dataset: { command: c.name },
        onclick: () => this.run(msg, c.name) }, c.name))
      : [el("div", { class: "menu-note" }, "This bot has no message commands for you.")];
    this.draw([el("div", { class: "menu-title" }, "Apps"), ...items], x, y);
  }

  draw(children, x, y) {
    this.node.replaceChildren(...children);
    this.node.hidden = false;
    const box = this.node.getBoundingClientRect();
    this.node.style.left = `${Math.max(4, Math.min(x, window.innerWidth - box.width - 4))}px`;
    this.node.style.top = `${Math.max(4, Math.min(y, window.innerHeight - box.height - 4))}px`;
  }

  close() {
    this.seq++;
    this.node.hidden = true;
  }

  async run(msg, name) {
    this.close();
    const result = await this.app.post("/api/message-command", { message_id: msg.id, name });
    if (result.error) this.app.composer.showError(result.error);
    else if (result.modal) this.app.modal.open(result.modal);
  }
}
