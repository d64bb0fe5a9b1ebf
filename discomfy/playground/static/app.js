// The page: one WebSocket brings the whole state, then every message change as the emulator
// records it (no polling). Buttons, selects and modals are sent as the chosen user; ephemeral
// messages are shown only to the user they answer, as on Discord. Age-restricted channels carry
// Discord's 🔞 mark. The newest message stays in view unless the reader scrolled up
// (scroller.js); right-click or "…" on a message opens its Apps menu (context_menu.js).

import { Composer } from "./composer.js";
import { MessageMenu } from "./context_menu.js";
import { el, renderMessage } from "./render.js";
import { StickyScroll } from "./scroller.js";

class Modal {
  constructor(app) {
    this.app = app;
    this.dialog = document.getElementById("modal");
    this.fields = document.getElementById("modal-fields");
    this.error = document.getElementById("modal-error");
    this.current = null;
    document.getElementById("modal-form").addEventListener("submit", (e) => { e.preventDefault(); this.submit(); });
    document.getElementById("modal-cancel").addEventListener("click", () => this.dialog.close());
  }

  open(modal) {
    this.current = modal;
    document.getElementById("modal-title").textContent = modal.title;
    this.error.hidden = true;
    this.fields.replaceChildren();
    for (const top of modal.components || []) {
      if (top.type === 1) for (const input of top.components || []) this.addInput(input, input.label);
      else if (top.type === 18) this.addInput(top.component, top.label);
    }
    this.dialog.showModal();
    this.fields.querySelector("input, textarea")?.focus();
  }

  addInput(input, label) {
    if (input.type !== 4) return;
    const id = `modal-${input.custom_id}`;
    const attrs = { id, name: input.custom_id, required: input.required !== false, placeholder: input.placeholder,
      minlength: input.min_length, maxlength: input.max_length };
    const field = input.style === 2 ? el("textarea", attrs, input.value || "") : el("input", { ...attrs, type: "text", value: input.value });
    this.fields.append(el("label", { for: id }, label || input.custom_id), field);
  }

  async submit() {
    const values = {};
    for (const field of this.fields.querySelectorAll("input, textarea")) values[field.name] = field.value;
    const result = await this.app.post("/api/modal", { modal_id: this.current.id, values });
    if (result.error) { this.error.textContent = result.error; this.error.hidden = false; return; }
    this.dialog.close();
  }
}

class Playground {
  constructor() {
    this.messages = new Map();
    this.users = new Map();
    this.dismissed = new Set();
    this.channel = null;
    this.user = sessionStorage.getItem("discomfy-user");
    this.list = document.getElementById("messages");
    this.scroller = new StickyScroll(this.list);
    this.composer = new Composer(this);
    this.modal = new Modal(this);
    this.menu = new MessageMenu(this);
    this.act = {
      click: (msg, customId, values, element) => this.click(msg, customId, values, element),
      dismiss: (msg) => { this.dismissed.add(msg.id); this.drawAll(); },
      menu: (msg, x, y) => this.menu.open(msg, x, y),
    };
    document.getElementById("user-switcher").addEventListener("change", (e) => this.switchUser(e.target.value));
    this.connect(0);
  }

  connect(attempt) {
    const status = document.getElementById("connection");
    const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    socket.onopen = () => { status.textContent = "live"; status.classList.remove("down"); attempt = 0; };
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = () => {
      status.textContent = "disconnected: is discomfy play still running? retrying…";
      status.classList.add("down");
      setTimeout(() => this.connect(attempt + 1), Math.min(5000, 500 * 2 ** attempt));
    };
  }

  receive(event) {
    if (event.type === "state") this.start(event);
    else if (event.type === "message") this.upsert(event.message);
  }

  start(state) {
    document.getElementById("guild-name").textContent = state.guild.name;
    this.users = new Map(state.users.map((u) => [u.id, u]));
    this.users.set(state.bot.id, { id: state.bot.id, name: state.bot.name });
    if (!state.users.some((u) => u.id === this.user)) this.user = state.users[0].id;
    const switcher = document.getElementById("user-switcher");
    switcher.replaceChildren(...state.users.map((u) =>
      el("option", { value: u.id, selected: u.id === this.user, title: u.roles?.length ? `roles: ${u.roles.join(", ")}` : null },
        u.owner ? `${u.name} (bot owner)` : u.name)));
    this.channels = state.channels;
    if (!this.channel || !state.channels.some((c) => c.id === this.channel)) this.channel = state.channels[0].id;
    const banner = document.getElementById("banner");
    banner.textContent = state.banner || "";
    banner.hidden = !state.banner;
    this.composer.commands = state.commands;
    this.composer.loadCommands(); // only those offered to this user
    this.messages = new Map(state.messages.map((m) => [m.id, m]));
    this.drawChannels();
    this.drawAll();
    document.body.dataset.ready = "1";
  }

  drawChannels() {
    const list = document.getElementById("channels");
    list.replaceChildren(...this.channels.map((c) => el("li", {
      class: [c.id === this.channel ? "active" : "", c.nsfw ? "nsfw" : ""].join(" ").trim(),
      title: c.nsfw ? "Age-restricted channel" : null,
      dataset: c.nsfw ? { channelId: c.id, name: c.name, nsfw: "1" } : { channelId: c.id, name: c.name },
      onclick: () => { this.channel = c.id; this.drawChannels(); this.drawAll(); } },
    c.name))); // the 🔞 mark is drawn by the stylesheet, like the # before every name
    const current = this.channels.find((c) => c.id === this.channel);
    document.getElementById("channel-name").textContent = current?.name || "";
    document.getElementById("channel-flag").hidden = !current?.nsfw;
  }

  switchUser(id) {
    this.user = id;
    sessionStorage.setItem("discomfy-user", id);
    this.composer.loadCommands(); // Discord offers each member the commands their permissions allow
    if (this.composer.input.value.startsWith("/")) this.composer.refresh();
    this.drawAll();
  }

  visible(msg) {
    return !msg.deleted && msg.channel_id === this.channel && !this.dismissed.has(msg.id)
      && (!msg.visible_to || msg.visible_to === this.user);
  }

  drawAll() {
    const shown = [...this.messages.values()].filter((m) => this.visible(m)).sort(byId);
    this.list.replaceChildren(...shown.map((m) => this.scroller.watch(renderMessage(m, this.users, this.act))));
    this.scroller.toBottom(); // a channel opens at its newest message
  }

  upsert(msg) {
    this.messages.set(msg.id, msg);
    if (msg.deleted) this.messages.delete(msg.id);
    const existing = this.list.querySelector(`[data-message-id="${msg.id}"]`);
    if (!this.visible(msg)) { existing?.remove(); return; }
    const node = this.scroller.watch(renderMessage(msg, this.users, this.act));
    if (existing) existing.replaceWith(node);
    else {
      const after = [...this.list.children].find((li) => BigInt(li.dataset.messageId) > BigInt(msg.id));
      this.list.insertBefore(node, after || null);
    }
    this.scroller.follow(); // only if the reader was at the bottom, as on Discord
  }

  async click(msg, customId, values, element) {
    if (element) element.disabled = true;
    try {
      const result = await this.post("/api/click", { message_id: msg.id, custom_id: customId, values });
      if (result.error) this.composer.showError(result.error);
      else if (result.modal) this.modal.open(result.modal);
    } finally {
      if (element && element.isConnected) element.disabled = false;
    }
  }

  async post(path, body) {
    const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: this.user, ...body }) });
    try {
      return await response.json();
    } catch {
      return { error: `The playground answered ${response.status}; its console says why.` };
    }
  }
}

function byId(a, b) {
  const x = BigInt(a.id), y = BigInt(b.id);
  return x < y ? -1 : x > y ? 1 : 0;
}

window.playground = new Playground();
