// Package kernels holds Inferno's Metal Shading Language sources, one file per op
// family, embedded so the binary carries them. The Metal backend compiles them at
// start-up; the simulator (metal/sim) runs the same files in tests.
package kernels

import (
	"embed"
	"sort"
)

//go:embed *.metal
var files embed.FS

// Sources returns every .metal file by name and the order in which they are
// concatenated into one library (quants.metal, the shared block decoders, first).
func Sources() (map[string]string, []string) {
	ents, _ := files.ReadDir(".")
	m := map[string]string{}
	var order []string
	for _, e := range ents {
		b, _ := files.ReadFile(e.Name())
		m[e.Name()] = string(b)
		if e.Name() != "quants.metal" {
			order = append(order, e.Name())
		}
	}
	sort.Strings(order)
	return m, append([]string{"quants.metal"}, order...)
}

// Library is all sources concatenated in order, as the Metal compiler gets them.
func Library() string {
	m, order := Sources()
	s := ""
	for _, n := range order {
		s += "// ---- " + n + "\n" + m[n] + "\n"
	}
	return s
}
