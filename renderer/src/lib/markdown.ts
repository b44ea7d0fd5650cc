// Markdown -> sanitized HTML for model output. The model never gets to inject HTML: raw HTML tokens
// are rendered as escaped text, images become their alt text, links are limited to http(s)/mailto,
// and the result goes through DOMPurify with a small allow-list anyway.

import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import cpp from "highlight.js/lib/languages/cpp";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import typescript from "highlight.js/lib/languages/typescript";
import { Marked, type Tokens } from "marked";

hljs.registerLanguage("bash", bash);
hljs.registerLanguage("cpp", cpp);
hljs.registerLanguage("javascript", javascript);
hljs.registerLanguage("json", json);
hljs.registerLanguage("python", python);
hljs.registerLanguage("rust", rust);
hljs.registerLanguage("typescript", typescript);
hljs.registerAliases(["sh", "shell", "zsh"], { languageName: "bash" });
hljs.registerAliases(["js", "jsx", "mjs"], { languageName: "javascript" });
hljs.registerAliases(["ts", "tsx"], { languageName: "typescript" });
hljs.registerAliases(["py"], { languageName: "python" });
hljs.registerAliases(["c", "c++", "h", "hpp", "cc"], { languageName: "cpp" });
hljs.registerAliases(["rs"], { languageName: "rust" });

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const safeHref = (href: string): boolean => /^(https?:|mailto:)/i.test(href.trim());

const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    html(token: Tokens.HTML | Tokens.Tag) {
      return escapeHtml(token.text);
    },
    image(token: Tokens.Image) {
      return escapeHtml(token.text || token.title || "");
    },
    link(token: Tokens.Link) {
      const text = this.parser.parseInline(token.tokens);
      if (!safeHref(token.href)) return text;
      const title = token.title ? ` title="${escapeHtml(token.title)}"` : "";
      return `<a href="${escapeHtml(token.href)}"${title} target="_blank" rel="noopener noreferrer">${text}</a>`;
    },
    code(token: Tokens.Code) {
      const lang = (token.lang ?? "").trim().split(/\s+/)[0]?.toLowerCase() ?? "";
      let body: string;
      let cls = "";
      if (lang && hljs.getLanguage(lang)) {
        body = hljs.highlight(token.text, { language: lang, ignoreIllegals: true }).value;
        cls = ` language-${escapeHtml(lang)}`;
      } else {
        body = escapeHtml(token.text);
      }
      const label = lang ? `<span class="code-lang">${escapeHtml(lang)}</span>` : "";
      return `<pre class="code-block">${label}<code class="hljs${cls}">${body}</code></pre>`;
    },
  },
});

const purifyConfig = {
  ALLOWED_TAGS: [
    "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li",
    "ol", "p", "pre", "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul", "input",
  ],
  ALLOWED_ATTR: ["href", "title", "class", "target", "rel", "type", "checked", "disabled", "align"],
  // DOMPurify checks every attribute value against this: scheme-less values (classes, "_blank") pass,
  // and the only schemes allowed are http(s) and mailto (no javascript:, data:, file:, ...).
  ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i,
};

let hooked = false;
function ensureHooks() {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook("uponSanitizeElement", (node, data) => {
    // Only GFM task-list checkboxes survive as inputs.
    if (data.tagName === "input" && (node as Element).getAttribute?.("type") !== "checkbox") node.parentNode?.removeChild(node);
  });
}

/** Renders model Markdown to HTML that is safe to put in the DOM. */
export function renderMarkdown(text: string): string {
  ensureHooks();
  const html = marked.parse(text, { async: false }) as string;
  return DOMPurify.sanitize(html, purifyConfig) as string;
}
