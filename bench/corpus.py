"""A generated tutorial site for benchmarks: N pages of realistic size, deterministic.

    python bench/corpus.py OUT_DIR [--pages 1000] [--seed 7]

Writes a project (site.yaml, templates/, static/ copied from this repository's theme, and
content/) to OUT_DIR. Pages are ~3 KB: frontmatter, headings, a list, a table, shell
code blocks and 5-10 wiki-links each; a tenth of them are lessons with the 8-step TCP
simulation. The same seed gives the same bytes.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
THEME = REPO / "stepwise" / "themes" / "default"
TUTORIALS = ("linux", "terraform", "git")
SECTIONS = ("lessons", "how", "kb", "labs", "interview")
WORDS = [
    "socket", "packet", "kernel", "state", "segment", "window", "buffer", "route", "table",
    "queue", "process", "file", "handshake", "timer", "sequence", "number", "client", "server",
    "port", "address", "interface", "namespace", "module", "plan", "apply", "state", "branch",
    "commit", "object", "tree", "merge", "rebase", "remote",
]
STEPS = """steps:
  - title: the server listens
    do: [server listen]
    text: The server opens a listening socket.
  - title: the client sends SYN
    do: [client connect, deliver]
    text: The client picks its ISN and sends SYN.
  - title: SYN,ACK arrives
    do: [deliver]
    text: The client is established.
  - title: the last ACK
    do: [deliver]
    text: Both sides are established.
  - title: data
    do: [client send 120, deliver, deliver]
    text: A request and its acknowledgment.
  - title: the client closes
    do: [client close, deliver]
    text: FIN from the client.
  - title: the server closes
    do: [deliver, server close, deliver]
    text: The server's FIN.
  - title: TIME-WAIT
    do: [deliver]
    text: The client waits 2MSL.
"""


def sentence(rng: random.Random, links: list[str]) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    if links and rng.random() < 0.35:
        words.insert(rng.randrange(len(words)), f"[[{links.pop()}]]")
    return " ".join(words).capitalize() + "."


def page_text(rng: random.Random, title: str, slugs: list[str], lesson: bool, order: int) -> str:
    links = rng.sample(slugs, min(len(slugs), rng.randint(5, 10)))
    head = [f"title: {title}", f"description: {' '.join(rng.choice(WORDS) for _ in range(8))}",
            f"layout: {'lesson' if lesson else 'article'}", f"order: {order}",
            f"tags: [{rng.choice(WORDS)}, {rng.choice(WORDS)}]"]
    if lesson:
        head += ["topic: network", "simulation:", "  model: tcp",
                 "  client: {name: curl, ip: 10.0.0.5}",
                 "  server: {name: nginx, ip: 10.0.0.80, port: 443}", STEPS.rstrip()]
    body = []
    for h in range(3):
        body.append(f"## {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {h}\n")
        body.append(" ".join(sentence(rng, links) for _ in range(5)) + "\n")
        body.append("\n".join(f"- {sentence(rng, links)}" for _ in range(3)) + "\n")
    rows = (f"| {rng.choice(WORDS)} | {rng.randint(1, 9999)} | {rng.choice(WORDS)} |"
            for _ in range(4))
    body.append("| name | value | note |\n|---|---|---|\n" + "\n".join(rows))
    commands = (f"ss -tan state {rng.choice(['established', 'time-wait'])} "
                f"'( dport = :{rng.randint(1, 9999)} )'" for _ in range(3))
    body.append("\n```shell\n" + "\n".join(commands) + "\n```\n")
    body.append(" ".join(f"See [[{s}]]." for s in links) + "\n")
    if lesson:
        body.insert(1, "::player\n")
    return "---\n" + "\n".join(head) + "\n---\n" + "\n".join(body)


def generate(out: Path, pages: int = 1000, seed: int = 7) -> Path:
    """Write a project with ``pages`` lessons and articles to ``out`` (replaced)."""
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy(REPO / "site.yaml", out / "site.yaml")
    shutil.copytree(THEME / "templates", out / "templates")
    shutil.copytree(THEME / "static", out / "static")
    content = out / "content"
    fixed = {
        "_index.md": "---\ntitle: Home\n---\nAll tutorials.\n",
        "pricing.md": "---\ntitle: Pricing\n---\nFree.\n",
        "about.md": "---\ntitle: About\n---\nAbout.\n",
        "privacy.md": "---\ntitle: Privacy\n---\nNo cookies.\n",
    }
    for i, tutorial in enumerate(TUTORIALS):
        fixed[f"{tutorial}/_index.md"] = (
            f"---\ntitle: {tutorial.title()}\norder: {i}\n---\nIntro.\n")
        for j, section in enumerate(SECTIONS):
            fixed[f"{tutorial}/{section}/_index.md"] = (
                f"---\ntitle: {section.title()}\norder: {j}\n---\nSection.\n")
    slugs = [f"p{n:05d}" for n in range(pages)]
    for rel, text in fixed.items():
        (content / rel).parent.mkdir(parents=True, exist_ok=True)
        (content / rel).write_text(text, encoding="utf-8")
    for n, slug in enumerate(slugs):
        folder = content / TUTORIALS[n % 3] / SECTIONS[(n // 3) % len(SECTIONS)]
        text = page_text(rng, f"Page {n} {rng.choice(WORDS)}", [s for s in slugs if s != slug],
                         lesson=n % 10 == 0, order=n)
        (folder / f"{slug}.md").write_text(text, encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.out, args.pages, args.seed)
    print(f"wrote {args.pages} pages to {args.out}")


if __name__ == "__main__":
    main()
