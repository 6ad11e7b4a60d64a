"""Architecture drawings as standalone SVG: a chain as a layer diagram, a cell as a DAG with an
operation on each edge. Every string from the user is escaped."""

from __future__ import annotations

import html
import itertools
from collections.abc import Mapping

from ..space import Cell, Repeat, SearchSpace, Value

PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")
_ids = itertools.count()


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _svg(width: float, height: float, body: list[str], title: str, uid: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="{_e(title)}" font-family="Helvetica, Arial, sans-serif" '
        f'font-size="12"><title>{_e(title)}</title><defs><marker id="{uid}-arrow" viewBox="0 0 10 10" refX="10" '
        'refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555"/></marker></defs>' + "".join(body) + "</svg>"
    )


def _box(x: float, y: float, w: float, h: float, head: str, lines: list[str], fill: str) -> list[str]:
    out = [
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="6" fill="{fill}" stroke="#555"/>',
        f'<text x="{x + w / 2:.1f}" y="{y + 18:.1f}" text-anchor="middle" font-weight="bold">{_e(head)}</text>',
    ]
    for k, line in enumerate(lines):
        out.append(f'<text x="{x + w / 2:.1f}" y="{y + 36 + 15 * k:.1f}" text-anchor="middle">{_e(line)}</text>')
    return out


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def chain_svg(space: SearchSpace, arch: Mapping[str, Value], *, title: str = "architecture") -> str:
    """The non-cell part of ``arch`` as a layer diagram: input, then the space's decisions in
    order — each layer of a repeat its own box, consecutive plain decisions one box — then output."""
    uid = f"nf{next(_ids)}"
    boxes: list[tuple[str, list[str], str]] = []
    plain: list[str] = []

    def flush() -> None:
        if plain:
            boxes.append(("choices", list(plain), "#eef3fb"))
            plain.clear()

    for key, item in space.spec.items():
        if isinstance(item, Cell):
            flush()
            boxes.append((key, ["cell (drawn below)"], "#fdf1e6"))
        elif isinstance(item, Repeat):
            flush()
            depth = int(arch.get(key, 0))
            for k in range(depth):
                lines = [
                    f"{local} {arch[f'{key}.{k}.{local}']}" for local in item.block if f"{key}.{k}.{local}" in arch
                ]
                boxes.append((f"{key} {k + 1}/{depth}", lines, "#eaf6ec"))
            if depth == 0:
                boxes.append((key, ["no layers"], "#f4f4f4"))
        elif key in arch:
            plain.append(f"{key} = {arch[key]}")
    flush()
    boxes = [("input", [], "#ffffff"), *boxes, ("output", [], "#ffffff")]
    boxes = [(_short(h, 24), [_short(line) for line in lines], f) for h, lines, f in boxes]
    widths = [max(70.0, 7.2 * max([len(h), *(len(s) for s in lines)]) + 20) for h, lines, _ in boxes]
    height = 44 + 15 * max(len(lines) for _, lines, _ in boxes)
    gap, x, body = 36.0, 10.0, []
    for i, ((head, lines, fill), w) in enumerate(zip(boxes, widths)):
        body += _box(x, 10, w, height, head, lines, fill)
        if i + 1 < len(boxes):
            y = 10 + height / 2
            body.append(
                f'<line x1="{x + w:.1f}" y1="{y:.1f}" x2="{x + w + gap - 2:.1f}" y2="{y:.1f}" stroke="#555" '
                f'stroke-width="1.5" marker-end="url(#{uid}-arrow)"/>'
            )
        x += w + gap
    return _svg(x - gap + 10, height + 20, body, title, uid)


def cell_svg(cell: Cell, ops: Mapping[tuple[int, int], str], *, title: str = "cell") -> str:
    """A cell as a DAG: nodes left to right (0 = input, last = output), one curve per edge
    labelled with its operation; edges carrying nothing are listed under the drawing, identity
    edges are dashed."""
    uid = f"nf{next(_ids)}"
    n = cell.nodes
    step, radius = 190.0, 18.0
    live = [(e, op) for e, op in ops.items() if op != cell.none_op]
    dead = [e for e, op in ops.items() if op == cell.none_op]
    lift = 40.0

    def bend_of(i: int, j: int) -> float:
        # adjacent nodes: straight; longer edges alternate above (even source) and below (odd)
        return 0.0 if j - i == 1 else (-1.0 if i % 2 == 0 else 1.0) * lift * (j - i - 1)

    bends = [bend_of(i, j) for (i, j), _ in live] or [0.0]
    top = 40 - min(bends)
    height = top + max(bends) + 50 + (18 if dead else 0)
    width = 60 + step * (n - 1) + 60
    xs = [60 + step * k for k in range(n)]
    colour = {op: PALETTE[k % len(PALETTE)] for k, op in enumerate(cell.ops)}
    body: list[str] = []
    labels: list[str] = []
    for (i, j), op in sorted(live, key=lambda item: item[0][1] - item[0][0]):
        x1, x2 = xs[i] + radius, xs[j] - radius
        bend = bend_of(i, j)
        cy = top + 2 * bend
        dash = ' stroke-dasharray="6 4"' if op == cell.identity_op else ""
        body.append(
            f'<path d="M{x1:.1f},{top:.1f} Q{(x1 + x2) / 2:.1f},{cy:.1f} {x2:.1f},{top:.1f}" fill="none" '
            f'stroke="{colour[op]}" stroke-width="2"{dash} marker-end="url(#{uid}-arrow)"/>'
        )
        lx, ly = (x1 + x2) / 2, top + bend
        w = 7.0 * len(op) + 10
        labels.append(
            f'<rect x="{lx - w / 2:.1f}" y="{ly - 9:.1f}" width="{w:.1f}" height="16" rx="3" fill="white" '
            f'stroke="{colour[op]}"/><text x="{lx:.1f}" y="{ly + 3:.1f}" text-anchor="middle" '
            f'fill="#222">{_e(op)}</text>'
        )
    body += labels
    for k, x in enumerate(xs):
        name = "in" if k == 0 else "out" if k == n - 1 else str(k)
        fill = "#dfe8f5" if k in (0, n - 1) else "#ffffff"
        body.append(f'<circle cx="{x:.1f}" cy="{top:.1f}" r="{radius}" fill="{fill}" stroke="#333"/>')
        body.append(f'<text x="{x:.1f}" y="{top + 4:.1f}" text-anchor="middle">{name}</text>')
    if dead:
        listed = ", ".join(f"{i}→{j}" for i, j in dead)
        body.append(f'<text x="10" y="{height - 12:.1f}" fill="#666">{_e(cell.none_op)} (no edge): {_e(listed)}</text>')
    return _svg(width, height, body, title, uid)


def architecture_svgs(space: SearchSpace, arch: Mapping[str, Value], *, name: str = "best architecture") -> list[str]:
    """Drawings of ``arch``: the layer diagram (unless the space is one cell), then each cell."""
    out = []
    one_cell = len(space.cells) == 1 and len(space.spec) == 1
    if not one_cell:
        out.append(chain_svg(space, arch, title=name))
    for key, cell in space.cells.items():
        out.append(cell_svg(cell, cell.ops_of(key, arch), title=f"{name}: cell {key}"))
    return out
