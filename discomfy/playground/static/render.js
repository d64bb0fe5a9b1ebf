// Draws one message the way the Discord client does: author line, "used /command", content,
// embeds (colour bar, fields, image, footer), attachments (images, video, files), buttons and
// select menus, and "Only you can see this" under ephemeral messages.

const AVATAR_COLOURS = ["#5865f2", "#3ba55c", "#faa61a", "#ed4245", "#eb459e", "#9b59b6"];

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// The little markdown Discord users see most: code blocks, inline code, bold, italic,
// underline, strike, -# small lines, links and user mentions.
export function markdown(text, users) {
  const blocks = [];
  let html = escapeHtml(text || "").replace(/```(?:\w*\n)?([\s\S]*?)```/g, (_, code) => {
    blocks.push(`<pre>${code}</pre>`);
    return `\u0000${blocks.length - 1}\u0000`;
  });
  html = html
    .replace(/`([^`\n]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/__([^_]+)__/g, "<u>$1</u>")
    .replace(/~~([^~]+)~~/g, "<s>$1</s>")
    .replace(/(^|[^*])\*([^*\n]+)\*/g, "$1<em>$2</em>")
    .replace(/^-# (.*)$/gm, '<span class="small">$1</span>')
    .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g, '<a href="$2" target="_blank" rel="noopener">$1</a>')
    .replace(/&lt;@!?(\d+)&gt;/g, (_, id) => `<span class="mention">@${escapeHtml(users.get(id)?.name || id)}</span>`);
  return html.replace(/\u0000(\d+)\u0000/g, (_, i) => blocks[Number(i)]);
}

function rich(tag, cls, text, users) {
  const node = el(tag, { class: cls });
  node.innerHTML = markdown(text, users);
  return node;
}

function colour(value) {
  return typeof value === "number" ? `#${value.toString(16).padStart(6, "0")}` : null;
}

function renderEmbed(embed, users) {
  const box = el("div", { class: "embed" });
  if (colour(embed.color)) box.style.borderLeftColor = colour(embed.color);
  if (embed.thumbnail?.url) box.append(el("img", { class: "e-thumb", src: embed.thumbnail.url, alt: "" }));
  if (embed.author?.name) box.append(el("div", { class: "e-author" }, embed.author.name));
  if (embed.title) box.append(rich("div", "e-title", embed.title, users));
  if (embed.description) box.append(rich("div", "e-desc", embed.description, users));
  if (embed.fields?.length) {
    box.append(el("div", { class: "e-fields" }, embed.fields.map((f) =>
      el("div", { class: f.inline ? "e-field inline" : "e-field" },
        rich("div", "name", f.name, users), rich("div", "value", f.value, users)))));
  }
  if (embed.image?.url) box.append(el("img", { class: "e-image", src: embed.image.url, alt: "image" }));
  if (embed.footer?.text) box.append(el("div", { class: "e-footer" }, embed.footer.text));
  return box;
}

function renderAttachment(att) {
  const type = att.content_type || "";
  if (type.startsWith("image/")) return el("a", { href: att.url, target: "_blank" }, el("img", { src: att.url, alt: att.filename }));
  if (type.startsWith("video/")) return el("video", { src: att.url, controls: true, loop: true, muted: true, title: att.filename });
  return el("div", { class: "file" }, "📄 ", el("a", { href: att.url, download: att.filename }, att.filename),
    el("span", { class: "small" }, ` ${Math.ceil(att.size / 1024)} KB`));
}

// Two or more images form Discord's mosaic: side by side for two, a 2 × 2 grid for four, and
// for an odd count the first one across the top.
function renderAttachments(attachments) {
  const images = attachments.every((a) => (a.content_type || "").startsWith("image/")) && attachments.length > 1;
  const cls = images ? `attachments mosaic${attachments.length % 2 ? " odd" : ""}` : "attachments";
  return el("div", { class: cls }, attachments.map(renderAttachment));
}

function emojiText(emoji) {
  return emoji?.name && !emoji.id ? `${emoji.name} ` : "";
}

function renderComponent(comp, msg, act) {
  if (comp.type === 1) return el("div", { class: "row" }, (comp.components || []).map((c) => renderComponent(c, msg, act)));
  if (comp.type === 2) {
    const label = `${emojiText(comp.emoji)}${comp.label || ""}`.trim();
    if (comp.style === 5 || comp.url) return el("a", { href: comp.url, target: "_blank", rel: "noopener" }, label);
    return el("button", { type: "button", class: `component style-${comp.style || 2}`, disabled: comp.disabled,
      dataset: { customId: comp.custom_id }, onclick: (e) => act.click(msg, comp.custom_id, null, e.currentTarget) }, label);
  }
  if ([3, 5, 6, 7, 8].includes(comp.type)) {
    const select = el("select", { class: "component", disabled: comp.disabled, dataset: { customId: comp.custom_id },
      multiple: (comp.max_values || 1) > 1,
      onchange: (e) => act.click(msg, comp.custom_id, [...e.target.selectedOptions].map((o) => o.value), e.target) },
      el("option", { value: "", disabled: true, selected: true }, comp.placeholder || "Make a selection"),
      (comp.options || []).map((o) => el("option", { value: o.value, title: o.description || "" }, `${emojiText(o.emoji)}${o.label}`)));
    return el("div", { class: "row" }, select);
  }
  if (comp.type === 10) return rich("div", "content", comp.content || "", new Map());
  if (comp.components) return el("div", {}, comp.components.map((c) => renderComponent(c, msg, act)));
  return null;
}

function initials(name) {
  return (name || "?").slice(0, 1).toUpperCase();
}

function avatar(author) {
  const index = [...(author.id || "0")].reduce((sum, c) => sum + c.charCodeAt(0), 0) % AVATAR_COLOURS.length;
  const node = el("div", { class: "avatar" }, author.bot ? "🤖" : initials(author.name));
  node.style.background = author.bot ? AVATAR_COLOURS[0] : AVATAR_COLOURS[index];
  return node;
}

// `act` carries what a click does: act.click(message, customId, values, element), act.dismiss(message),
// and, when given, act.menu(message, x, y) opens the message's context menu (right-click or "…").
export function renderMessage(msg, users, act) {
  const when = new Date(msg.created_at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const item = el("li", { class: msg.ephemeral ? "message ephemeral" : "message", dataset: { messageId: msg.id } });
  if (msg.interaction?.command) {
    item.append(el("div", { class: "used" }, el("b", {}, msg.interaction.user), " used ", el("b", {}, msg.interaction.command)));
  }
  item.append(avatar(msg.author));
  item.append(el("div", { class: "head" }, el("span", { class: "author" }, msg.author.name),
    msg.author.bot ? el("span", { class: "bot-tag" }, "APP") : null, el("span", { class: "time" }, when)));
  if (msg.loading) item.append(el("div", { class: "content thinking" }, `${msg.author.name} is thinking…`));
  if (msg.content) {
    const content = rich("div", "content", msg.content, users);
    if (msg.edited) content.append(el("span", { class: "edited" }, " (edited)"));
    item.append(content);
  }
  for (const embed of msg.embeds || []) item.append(renderEmbed(embed, users));
  if (msg.attachments?.length) item.append(renderAttachments(msg.attachments));
  for (const comp of msg.components || []) {
    const node = renderComponent(comp, msg, act);
    if (node) item.append(node);
  }
  if (act.menu && !msg.ephemeral) {
    // Discord's message toolbar ("…" = More) and right-click open the same menu: Apps → …
    item.append(el("div", { class: "message-tools" }, el("button", { type: "button", class: "more", title: "More",
      "aria-label": "More", onclick: (e) => { const r = e.currentTarget.getBoundingClientRect(); act.menu(msg, r.left, r.bottom + 4); } }, "…")));
    item.addEventListener("contextmenu", (e) => { e.preventDefault(); act.menu(msg, e.clientX, e.clientY); });
  }
  if (msg.ephemeral) {
    item.append(el("div", { class: "ephemeral-note" }, "👁 Only you can see this · ",
      el("a", { onclick: () => act.dismiss(msg) }, "Dismiss message")));
  }
  return item;
}
