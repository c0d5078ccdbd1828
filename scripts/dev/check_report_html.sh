#!/usr/bin/env bash
# Renders report.html in a real headless browser (Debian's chromium) and checks what a reader
# sees: the claims table with its PASS and FAIL verdicts coloured, the learning curves drawn
# from inline SVG, and a screenshot that is not blank. Not run by CI (it needs a browser):
#   apt-get install chromium
#   scripts/dev/check_report_html.sh [RUNNER] [OUTDIR]
# Runs claims_tiny.toml twice (as shipped, and with its labels left uncorrupted so claims
# FAIL) into OUTDIR (default: a temporary dir), reports both, and leaves OUTDIR/report.png.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(realpath "${1:-target/release/runner}")
out=${2:-$(mktemp -d)}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "no chromium on PATH (apt-get install chromium)" >&2; exit 2; }
mkdir -p "$out"
results="$out/results"
rm -rf "$results"

"$bin" run experiments/smoke/claims_tiny.toml --results "$results" --threads 2 --quiet > /dev/null
"$bin" run experiments/smoke/claims_tiny.toml --results "$results" --threads 2 --quiet \
  --set variant.random-labels.corruption.labels=0.0 > /dev/null
"$bin" report "$results" > /dev/null
page="$results/report/report.html"
[ -s "$page" ] || { echo "FAIL: $page was not written" >&2; exit 1; }

# A profile of its own and no network: the page must render from itself alone.
profile=$(mktemp -d)
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$profile" --window-size=1280,2400)
"$browser" "${flags[@]}" --dump-dom "file://$(realpath "$page")" > "$out/dom.html" 2> "$out/browser.log"
"$browser" "${flags[@]}" --screenshot="$out/report.png" "file://$(realpath "$page")" \
  >> "$out/browser.log" 2>&1
rm -rf "$profile"

python3 - "$out/dom.html" "$out/report.png" <<'EOF'
import re, struct, sys, zlib

dom = open(sys.argv[1], encoding="utf-8").read()
problems = []
claims = re.search(r'<h2 id="claims">.*?</table>', dom, re.S)
if not claims:
    problems.append("the rendered page has no claims table")
else:
    table = claims.group(0)
    passes = len(re.findall(r'<td class="pass">PASS</td>', table))
    fails = len(re.findall(r'<td class="fail">FAIL</td>', table))
    print(f"claims table: {passes} PASS and {fails} FAIL cells")
    if passes == 0 or fails == 0:
        problems.append("expected both PASS and FAIL verdicts (one run as shipped, one broken)")
svgs = len(re.findall(r"<svg\b", dom))
paths = len(re.findall(r"<(?:path|polyline)\b", dom))
print(f"inline SVG: {svgs} plots, {paths} path/polyline elements")
if svgs == 0 or paths == 0:
    problems.append("no learning curve drawn in inline SVG")

# The screenshot: decode the PNG's pixels (8-bit RGB/RGBA, as chromium writes) and count
# the colours a blank or unstyled page would not have.
png = open(sys.argv[2], "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
pos, idat, width, height, channels = 8, b"", 0, 0, 0
while pos < len(png):
    (n,) = struct.unpack(">I", png[pos : pos + 4])
    kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and colour in (2, 6), f"unexpected PNG type {depth}/{colour}"
        channels = 3 if colour == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = width * channels
prev = bytearray(stride)
colours = set()
for y in range(height):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - channels] if i >= channels else 0
        b, c = prev[i], prev[i - channels] if i >= channels else 0
        if f == 1:
            line[i] = (line[i] + a) & 255
        elif f == 2:
            line[i] = (line[i] + b) & 255
        elif f == 3:
            line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    if y % 4 == 0:
        for x in range(0, stride, channels * 2):
            colours.add(bytes(line[x : x + 3]))
    prev = line
# PASS green and FAIL red backgrounds are among them when the verdicts are coloured.
greenish = sum(1 for r, g, b in colours if g > r + 30 and g > b + 30)
reddish = sum(1 for r, g, b in colours if r > g + 30 and r > b + 30)
print(f"screenshot {width}x{height}: {len(colours)} colours, {greenish} green-ish, {reddish} red-ish")
if len(colours) < 16:
    problems.append("the screenshot is (nearly) blank")
if greenish == 0 or reddish == 0:
    problems.append("no PASS green or FAIL red in the screenshot")
if problems:
    print("FAIL: " + "; ".join(problems))
    sys.exit(1)
print("OK: report.html renders its claims, verdict colours and curves")
EOF
echo "screenshot: $out/report.png"
