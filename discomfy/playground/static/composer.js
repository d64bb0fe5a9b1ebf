// The message box: plain text is a message; "/" opens the bot's commands, then each command's
// options (name, type, description, required), then the choices of the option being typed
// (its fixed choices, or the bot's autocomplete answers). Like Discord's client, it offers only
// the commands the current user may use (their default_member_permissions), so the list is
// fetched again for each user. Attachment options get a file button
// each. Sending turns the text into an interaction through /api/invoke.

import { el } from "./render.js";

const TYPES = { 3: "text", 4: "integer", 5: "true/false", 6: "user", 7: "channel", 8: "role", 9: "mentionable", 10: "number", 11: "file" };
const ATTACHMENT = 11;

// "/generate prompt:a red fox model:sdxl" -> {command, options: {prompt: "a red fox", model: "sdxl"}, last, partial}
export function parseCommand(text, commands) {
  const body = text.replace(/^\//, "");
  let command = null;
  for (const cmd of commands) {
    if ((body === cmd.name || body.startsWith(cmd.name + " ")) && (!command || cmd.name.length > command.name.length)) command = cmd;
  }
  if (!command) return { command: null, prefix: body };
  const rest = body.slice(command.name.length);
  const names = new Set((command.options || []).map((o) => o.name));
  const marks = [];
  const pattern = /(^|\s)([\w-]+):/g;
  let match;
  while ((match = pattern.exec(rest)) !== null) {
    if (names.has(match[2])) marks.push({ name: match[2], start: match.index + match[1].length, valueStart: pattern.lastIndex });
  }
  const options = {};
  marks.forEach((mark, i) => {
    const end = i + 1 < marks.length ? marks[i + 1].start : rest.length;
    options[mark.name] = rest.slice(mark.valueStart, end).trim();
  });
  const lastMark = marks[marks.length - 1];
  const tail = rest.slice(lastMark ? lastMark.valueStart : 0);
  const partial = /\s$/.test(rest) || rest === "" ? "" : (rest.split(/\s/).pop() || "");
  return { command, options, last: lastMark?.name || null, lastValue: lastMark ? tail : null, partial, endsWithSpace: /\s$/.test(text) };
}

export class Composer {
  constructor(app) {
    this.app = app;
    this.form = document.getElementById("composer");
    this.input = document.getElementById("composer-input");
    this.list = document.getElementById("suggestions");
    this.filesBar = document.getElementById("files");
    this.error = document.getElementById("composer-error");
    this.items = [];
    this.active = -1;
    this.commands = [];
    this.loading = Promise.resolve();
    this.loadSeq = 0;
    this.fileCommand = null;
    this.autocompleteSeq = 0;
    this.input.addEventListener("input", () => this.refresh());
    this.input.addEventListener("keydown", (e) => this.key(e));
    this.input.addEventListener("blur", () => setTimeout(() => this.hide(), 150));
    this.input.addEventListener("focus", () => this.refresh());
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.send(); });
  }

  // The commands offered to the current user; only the latest load applies (a user switch may
  // overtake a load started for the previous user).
  loadCommands() {
    const seq = ++this.loadSeq;
    const query = this.app.user ? `?user=${encodeURIComponent(this.app.user)}` : "";
    this.loading = fetch(`/api/commands${query}`).then((r) => r.json()).then((commands) => {
      if (seq === this.loadSeq && Array.isArray(commands)) this.commands = commands;
    }).catch(() => {}); // the playground stopped: keep the list, the status line says so
    return this.loading;
  }

  async commandsReady() {
    let pending;
    do { pending = this.loading; await pending; } while (pending !== this.loading);
  }

  showError(text) {
    this.error.textContent = text;
    this.error.hidden = !text;
  }

  async refresh() {
    const text = this.input.value;
    if (!text.startsWith("/")) { this.hide(); this.setFileCommand(null); return; }
    if (text === "/") this.loadCommands(); // a hot reload may have changed them
    await this.commandsReady();
    if (this.input.value !== text) return; // typed on meanwhile: that keystroke's refresh decides
    const parsed = parseCommand(text, this.commands);
    this.setFileCommand(parsed.command);
    if (!parsed.command) {
      const found = this.commands.filter((c) => c.name.startsWith(parsed.prefix.trim()));
      this.show("Commands", found.map((c) => ({ name: `/${c.name}`, desc: c.description, pick: () => this.replace(`/${c.name} `) })), 0);
      return;
    }
    const current = (parsed.command.options || []).find((o) => o.name === parsed.last);
    if (current && !parsed.endsWithSpace && (current.choices?.length || current.autocomplete)) {
      const typed = parsed.options[current.name] || "";
      if (current.autocomplete) { this.autocomplete(parsed, current, typed); return; }
      const found = current.choices.filter((c) => c.name.toLowerCase().includes(typed.toLowerCase()) || String(c.value).startsWith(typed));
      this.show(`${current.name}`, found.map((c) => ({ name: c.name, desc: "", pick: () => this.setValue(c.value) })), -1);
      return;
    }
    const remaining = (parsed.command.options || []).filter((o) => !(o.name in parsed.options) && o.type !== 1 && o.type !== 2);
    const filtered = parsed.partial && !parsed.partial.includes(":") ? remaining.filter((o) => o.name.startsWith(parsed.partial)) : remaining;
    const usable = parsed.endsWithSpace || !parsed.last || (parsed.partial && !parsed.partial.includes(":")) ? filtered : [];
    this.show(`/${parsed.command.name}: options`, usable.map((o) => ({
      name: o.name, type: TYPES[o.type] || o.type, required: o.required, desc: o.description,
      pick: () => this.pickOption(o, parsed),
    })), -1);
  }

  async autocomplete(parsed, option, typed) {
    const seq = ++this.autocompleteSeq;
    await new Promise((resolve) => setTimeout(resolve, 120)); // wait for a pause in typing
    if (seq !== this.autocompleteSeq) return;
    const response = await fetch("/api/autocomplete", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: this.app.user, command: parsed.command.name, options: parsed.options, focused: option.name }) });
    const body = await response.json();
    if (seq !== this.autocompleteSeq || !this.input.value.startsWith("/")) return;
    if (body.error) { this.show(option.name, [], -1); this.showError(body.error); return; }
    this.show(`${option.name} · suggested by the bot`, body.choices.map((c) => ({ name: c.name, desc: "", pick: () => this.setValue(c.value) })), -1);
  }

  pickOption(option, parsed) {
    const text = this.input.value;
    const base = parsed.partial && !parsed.partial.includes(":") ? text.slice(0, text.length - parsed.partial.length) : text.replace(/\s*$/, " ");
    if (option.type === ATTACHMENT) {
      this.replace(base);
      this.filesBar.querySelector(`input[data-option="${option.name}"]`)?.click();
      return;
    }
    this.replace(`${base}${option.name}:`);
  }

  setValue(value) {
    const text = this.input.value;
    const colon = text.lastIndexOf(":");
    this.replace(`${text.slice(0, colon + 1)}${value} `);
  }

  replace(text) {
    this.input.value = text;
    this.input.focus();
    this.refresh();
  }

  setFileCommand(command) {
    const name = command?.name || null;
    if (name === this.fileCommand) return;
    this.fileCommand = name;
    this.filesBar.replaceChildren();
    const slots = (command?.options || []).filter((o) => o.type === ATTACHMENT);
    this.filesBar.hidden = slots.length === 0;
    for (const option of slots) {
      this.filesBar.append(el("label", { title: option.description || "" },
        `📎 ${option.name}${option.required ? " *" : ""}`,
        el("input", { type: "file", dataset: { option: option.name } })));
    }
  }

  show(title, items, active) {
    this.items = items;
    this.active = items.length ? active : -1;
    this.list.replaceChildren();
    if (!items.length) { this.list.hidden = true; return; }
    this.list.append(el("li", { class: "title" }, title));
    items.forEach((item, index) => {
      this.list.append(el("li", { class: index === this.active ? "item active" : "item", role: "option",
        dataset: { name: item.name }, onmousedown: (e) => { e.preventDefault(); item.pick(); } },
      el("span", { class: "name" }, item.name),
      item.type ? el("span", { class: "type" }, item.type) : null,
      item.required ? el("span", { class: "req" }, "required") : null,
      el("span", { class: "desc" }, item.desc || "")));
    });
    this.list.hidden = false;
  }

  hide() {
    this.list.hidden = true;
    this.items = [];
    this.active = -1;
  }

  key(e) {
    if (this.list.hidden || !this.items.length) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      this.show(this.list.querySelector(".title")?.textContent || "", this.items,
        (this.active + step + this.items.length) % this.items.length);
    } else if ((e.key === "Enter" || e.key === "Tab") && this.active >= 0) {
      e.preventDefault();
      this.items[this.active].pick();
    } else if (e.key === "Escape") {
      this.hide();
    }
  }

  async send() {
    if (this.form.dataset.sending) return;
    const text = this.input.value.trim();
    this.showError("");
    if (!text && !this.filesBar.querySelector("input[type=file]")?.files.length) return;
    this.form.dataset.sending = "1";
    try {
      if (!text.startsWith("/")) {
        const result = await this.app.post("/api/say", { channel: this.app.channel, content: text });
        if (result.error) { this.showError(result.error); return; }
        this.clear();
        this.app.scroller.toBottom();
        return;
      }
      const parsed = parseCommand(text, this.commands);
      if (!parsed.command) { this.showError(`${text.split(/\s/)[0]} is not a command of this bot. Type / to see its commands.`); return; }
      const data = new FormData();
      data.append("user", this.app.user);
      data.append("channel", this.app.channel);
      data.append("command", parsed.command.name);
      data.append("options", JSON.stringify(parsed.options));
      for (const input of this.filesBar.querySelectorAll("input[type=file]")) {
        if (input.files.length) data.append(`file:${input.dataset.option}`, input.files[0], input.files[0].name);
      }
      const response = await fetch("/api/invoke", { method: "POST", body: data });
      const result = await response.json();
      if (result.error) { this.showError(result.error); return; }
      this.clear();
      this.app.scroller.toBottom(); // as on Discord, what you send brings you to the newest message
      if (result.modal) this.app.modal.open(result.modal);
    } finally {
      delete this.form.dataset.sending;
    }
  }

  clear() {
    this.input.value = "";
    this.fileCommand = "\u0000"; // force the file slots to be rebuilt empty
    this.setFileCommand(null);
    this.hide();
  }
}
