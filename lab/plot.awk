# SPDX-License-Identifier: GPL-2.0
# Memory over time as an SVG image, for lab/lab.sh bench. Input: lines
# "LABEL MS MIB", one curve per label in order of appearance; -v title=...,
# and -v xlimit=S to keep the first S seconds only.
# Usage: awk -v title="..." [-v xlimit=S] -f lab/plot.awk samples >plot.svg
BEGIN { W = 760; H = 420; L = 60; R = 170; T = 40; B = 50 }
NF == 3 && (!xlimit || $2 / 1000 <= xlimit) {
	if (!($1 in seen)) { seen[$1] = 1; label[++n] = $1 }
	k = $1; c = ++cnt[k]; x[k, c] = $2 / 1000; y[k, c] = $3
	if ($2 / 1000 > xmax) xmax = $2 / 1000
	if ($3 > ymax) ymax = $3
}
function px(v) { return L + v / xmax * (W - L - R) }
function py(v) { return H - B - v / ymax * (H - T - B) }
END {
	if (!n) exit 1
	xmax = xmax > 0 ? xmax : 1
	ymax = ymax > 0 ? int(ymax / 64 + 1) * 64 : 64
	split("#1f77b4 #d62728 #2ca02c #ff7f0e #9467bd #8c564b", col, " ")
	printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H
	printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
	printf "<text x=\"%d\" y=\"22\" font-size=\"14\">%s</text>\n", L, title
	for (i = 0; i <= 4; i++) {
		v = ymax * i / 4
		printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, py(v), W - R, py(v)
		printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d</text>\n", L - 6, py(v) + 4, v
		t = xmax * i / 4
		printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f</text>\n", px(t), H - B + 18, t
	}
	printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">seconds from the start of the guest's zeroing</text>\n", (L + W - R) / 2, H - 10
	printf "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">VMM memory, MiB</text>\n", (T + H - B) / 2, (T + H - B) / 2
	printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", L, H - B, W - R, H - B
	printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", L, T, L, H - B
	for (i = 1; i <= n; i++) {
		k = label[i]
		printf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col[(i - 1) % 6 + 1]
		for (c = 1; c <= cnt[k]; c++)
			printf "%.1f,%.1f ", px(x[k, c]), py(y[k, c])
		printf "\"/>\n"
		printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>\n", W - R + 12, T + 18 * i, W - R + 36, T + 18 * i, col[(i - 1) % 6 + 1]
		printf "<text x=\"%d\" y=\"%d\">%s</text>\n", W - R + 42, T + 18 * i + 4, k
	}
	print "</svg>"
}
