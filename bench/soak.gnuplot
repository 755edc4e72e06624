# The soak test's plot: target/bench/soak.tsv (bench/soak.sh writes it, then runs this) as four
# stacked panels against minutes of the run, sharing one time axis so a step in one panel can be
# matched to the others. Set with -e: tsv, png, term (pngcairo, or png where cairo is missing),
# steady (seconds: where the slopes start, drawn as a dashed line), target (tokens/s asked),
# subtitle.

if (term eq "pngcairo") {
    set terminal pngcairo size 1200,900 font ",10"
} else {
    set terminal png size 1200,900
}
set output png
set datafile separator "\t"
set datafile commentschars "#"
set grid
# Keys beside the panels, where they cannot hide a line; fixed margins keep the panels aligned
# although only the last one has a right-hand axis.
set key outside right top
set lmargin 10
set rmargin 26
set xrange [0:*]
set yrange [0:*]
set format x ""
set arrow 1 from first steady / 60.0, graph 0 to first steady / 60.0, graph 1 nohead dashtype 2 linecolor rgb "gray40"

set multiplot layout 4, 1 title "Token endpoint soak: ".subtitle

set title "Tokens issued per second (tokens/s)"
set label 1 " steady part (slopes) from here" at first steady / 60.0, graph 0.12 left textcolor rgb "gray40"
plot tsv using ($1 / 60):2 with lines linewidth 1.5 title "tokens/s", \
     target with lines dashtype 2 linecolor rgb "black" title sprintf("asked: %d tokens/s", target)
unset label 1

set title "Latency of the tokens issued, per interval (ms)"
plot tsv using ($1 / 60):3 with lines linewidth 1.5 title "p99", \
     '' using ($1 / 60):9 with lines linewidth 1.5 title "p50"

set title "Server memory, VmRSS (MB)"
plot tsv using ($1 / 60):5 with lines linewidth 1.5 title "RSS (MB)"

set title "Database size (MB, left axis) and rows (right axis)"
set format x "%g"
set xlabel "minutes since the start of the soak"
set ytics nomirror
set y2tics
set ylabel "MB"
set y2range [0:*]
set format y2 "%.1s%c"
plot tsv using ($1 / 60):6 axes x1y1 with lines linewidth 1.5 title "database (MB)", \
     '' using ($1 / 60):7 axes x1y2 with lines linewidth 1.5 title "used-jti rows", \
     '' using ($1 / 60):8 axes x1y2 with lines linewidth 1.5 title "audit events"

unset multiplot
