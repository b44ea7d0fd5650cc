// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../renderer/src/lib/markdown.js";

describe("model Markdown rendering", () => {
  it("renders Markdown and highlights known languages", () => {
    const html = renderMarkdown("# Title\n\nSome **bold** and `code`.\n\n```ts\nconst x: number = 1;\n```\n");
    expect(html).toContain("<h1>Title</h1>");
    expect(html).toContain("<strong>bold</strong>");
    expect(html).toContain('<code class="hljs language-ts">');
    expect(html).toContain('<span class="hljs-keyword">const</span>');
  });

  it("never lets raw HTML from the model through", () => {
    const evil = [
      '<script>alert(1)</script>',
      '<img src=x onerror="alert(1)">',
      '<iframe src="https://evil.example"></iframe>',
      '<a href="javascript:alert(1)">click</a>',
      '<div style="position:fixed">overlay</div>',
      "[link](javascript:alert(1))",
      "![img](https://evil.example/track.png)",
      '<svg><animate onbegin="alert(1)"/></svg>',
    ].join("\n\n");
    const html = renderMarkdown(evil);
    const dom = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
    expect(dom.querySelectorAll("script, img, iframe, svg, style, div").length).toBe(0);
    for (const el of dom.querySelectorAll("*")) {
      for (const attr of el.getAttributeNames()) expect(attr).not.toMatch(/^on|^style$|^src$/);
    }
    for (const a of dom.querySelectorAll("a")) expect(a.getAttribute("href")).toMatch(/^(https?:|mailto:)/);
    // The text is still shown, escaped.
    expect(dom.body.textContent).toContain("<script>alert(1)</script>");
  });

  it("keeps safe links and opens them outside the app", () => {
    const html = renderMarkdown("See [the docs](https://node-llama-cpp.withcat.ai/).");
    expect(html).toContain('href="https://node-llama-cpp.withcat.ai/"');
    expect(html).toContain('rel="noopener noreferrer"');
    expect(html).toContain('target="_blank"');
  });
});
