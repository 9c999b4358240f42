package promtext

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
)

// ContentType is the media type of WriteText's output.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// WriteText writes fams in Prometheus' text exposition format 0.0.4.
func WriteText(w io.Writer, fams []Family) error {
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		bw.WriteString("# HELP " + f.Name + " " + helpEscaper.Replace(f.Help) + "\n")
		bw.WriteString("# TYPE " + f.Name + " " + f.Type.String() + "\n")
		for _, s := range f.Samples {
			if s.Hist == nil {
				writeSample(bw, f.Name, f.Labels, s.Labels, "", "", s.Value)
				continue
			}
			h := s.Hist
			for i, b := range h.Bounds {
				writeSample(bw, f.Name+"_bucket", f.Labels, s.Labels, "le", formatFloat(b), float64(h.Cumulative[i]))
			}
			writeSample(bw, f.Name+"_bucket", f.Labels, s.Labels, "le", "+Inf", float64(h.Count))
			writeSample(bw, f.Name+"_sum", f.Labels, s.Labels, "", "", h.Sum)
			writeSample(bw, f.Name+"_count", f.Labels, s.Labels, "", "", float64(h.Count))
		}
	}
	return bw.Flush()
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func writeSample(w *bufio.Writer, name string, labels, values []string, extraName, extraValue string, v float64) {
	w.WriteString(name)
	if len(labels) > 0 || extraName != "" {
		w.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString(l)
			w.WriteString(`="`)
			labelEscaper.WriteString(w, values[i])
			w.WriteByte('"')
		}
		if extraName != "" {
			if len(labels) > 0 {
				w.WriteByte(',')
			}
			w.WriteString(extraName)
			w.WriteString(`="`)
			w.WriteString(extraValue)
			w.WriteByte('"')
		}
		w.WriteByte('}')
	}
	w.WriteByte(' ')
	var num [32]byte
	w.Write(appendFloat(num[:0], v))
	w.WriteByte('\n')
}

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
