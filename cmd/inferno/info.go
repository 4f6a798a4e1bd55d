package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/model/llama"
	"github.com/inferno-go/inferno/modelcache"
	"github.com/spf13/cobra"
)

func newInfoCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info FILE",
		Short: "Show a GGUF file's metadata, tensors and totals",
		Long:  "Show a GGUF file's metadata, tensors and totals, as text or JSON.\n\nWith --json: " + nonFiniteJSONHelp,
		Example: `  inferno info ../shared/refdata/models/stories260K.gguf
  inferno info model.gguf --json | jq .totals`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := modelcache.Resolve(args[0]) // a file, or a pulled model's name
			if err != nil {
				return err
			}
			f, err := gguf.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			rep := buildInfo(path, f)
			if asJSON {
				for i := range rep.Metadata {
					rep.Metadata[i].Value = jsonSafe(rep.Metadata[i].Value)
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return writeInfoText(cmd.OutOrStdout(), rep)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text (NaN and infinite metadata values as the strings \"NaN\", \"+Inf\", \"-Inf\")")
	return cmd
}

// arrayPreview is how many elements of a long array are shown.
const arrayPreview = 8

type infoKV struct {
	Key    string `json:"key"`
	Type   string `json:"type"`
	Value  any    `json:"value"`
	Length int    `json:"length,omitempty"` // arrays: the full length (value is shortened)
}

type infoTensor struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Shape  []uint64 `json:"shape"`
	Bytes  uint64   `json:"bytes"`
	Offset int64    `json:"offset"` // absolute file offset of the data
}

type typeCount struct {
	Type    string `json:"type"`
	Tensors int    `json:"tensors"`
	Params  uint64 `json:"params"`
	Bytes   uint64 `json:"bytes"`
}

type infoReport struct {
	Path       string `json:"path"`
	Version    uint32 `json:"version"`
	Alignment  uint64 `json:"alignment"`
	FileSize   int64  `json:"file_size"`
	DataOffset int64  `json:"data_offset"`
	Model      struct {
		Architecture string `json:"architecture"`
		Name         string `json:"name,omitempty"`
		Blocks       int64  `json:"blocks,omitempty"`
		Tokens       int    `json:"tokens,omitempty"`
		Tokenizer    string `json:"tokenizer,omitempty"`
		// Features is what the graph adds to plain Llama; Unsupported why inferno
		// cannot run the file (empty: it can).
		Features    []string `json:"features"`
		Unsupported string   `json:"unsupported,omitempty"`
	} `json:"model"`
	Metadata []infoKV     `json:"metadata"`
	Tensors  []infoTensor `json:"tensors"`
	Totals   struct {
		Tensors       int         `json:"tensors"`
		Params        uint64      `json:"params"`
		Bytes         uint64      `json:"bytes"`
		BitsPerWeight float64     `json:"bits_per_weight"`
		TypeMix       []typeCount `json:"type_mix"`
	} `json:"totals"`
}

func shortValue(v gguf.Value) any {
	if v.Type != gguf.TypeArray {
		return v.Any()
	}
	n := min(v.Len(), arrayPreview)
	out := make([]any, n)
	for i := range out {
		out[i] = shortValue(v.Index(i))
	}
	return out
}

func buildInfo(path string, f *gguf.File) *infoReport {
	r := &infoReport{Path: path, Version: f.Version, Alignment: f.Alignment, FileSize: f.Size, DataOffset: f.DataOffset}
	r.Model.Architecture, _ = f.StringOr("general.architecture", "")
	r.Model.Name, _ = f.StringOr("general.name", "")
	if r.Model.Architecture != "" {
		r.Model.Blocks, _ = f.IntOr(r.Model.Architecture+".block_count", 0)
	}
	if v, ok := f.Lookup("tokenizer.ggml.tokens"); ok {
		r.Model.Tokens = v.Len()
	}
	r.Model.Tokenizer, _ = f.StringOr("tokenizer.ggml.model", "")
	if h, err := llama.ReadHParams(f); err != nil {
		r.Model.Unsupported = err.Error()
	} else {
		r.Model.Features = h.Features()
	}
	for _, kv := range f.KVs {
		e := infoKV{Key: kv.Key, Type: kv.Value.TypeName(), Value: shortValue(kv.Value)}
		if kv.Value.Type == gguf.TypeArray {
			e.Length = kv.Value.Len()
		}
		r.Metadata = append(r.Metadata, e)
	}
	mix := map[string]*typeCount{}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		r.Tensors = append(r.Tensors, infoTensor{t.Name, t.Type.String(), t.Dims, t.Size, f.DataOffset + int64(t.Offset)})
		n := t.NumElements()
		r.Totals.Params += n
		r.Totals.Bytes += t.Size
		c := mix[t.Type.String()]
		if c == nil {
			c = &typeCount{Type: t.Type.String()}
			mix[c.Type] = c
		}
		c.Tensors++
		c.Params += n
		c.Bytes += t.Size
	}
	r.Totals.Tensors = len(f.Tensors)
	if r.Totals.Params > 0 {
		r.Totals.BitsPerWeight = float64(8*r.Totals.Bytes) / float64(r.Totals.Params)
	}
	for _, c := range mix {
		r.Totals.TypeMix = append(r.Totals.TypeMix, *c)
	}
	sort.Slice(r.Totals.TypeMix, func(i, j int) bool { return r.Totals.TypeMix[i].Bytes > r.Totals.TypeMix[j].Bytes })
	return r
}

func formatShort(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 120 {
			return fmt.Sprintf("%q... (%d bytes)", x[:120], len(x))
		}
		return fmt.Sprintf("%q", x)
	case []any:
		parts := make([]string, len(x))
		for i := range x {
			parts[i] = formatShort(x[i])
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func writeInfoText(w io.Writer, r *infoReport) error {
	fmt.Fprintf(w, "file:        %s\n", r.Path)
	fmt.Fprintf(w, "gguf:        version %d, alignment %d, %s, data at offset %d\n", r.Version, r.Alignment, humanBytes(uint64(r.FileSize)), r.DataOffset)
	if m := r.Model; m.Architecture != "" {
		fmt.Fprintf(w, "model:       architecture %s, %d blocks, %d tokens", m.Architecture, m.Blocks, m.Tokens)
		if m.Tokenizer != "" {
			fmt.Fprintf(w, " (%s tokenizer)", m.Tokenizer)
		}
		if m.Name != "" {
			fmt.Fprintf(w, ", name %q", m.Name)
		}
		fmt.Fprintln(w)
		switch {
		case m.Unsupported != "":
			fmt.Fprintf(w, "unsupported: %s\n", m.Unsupported)
		case len(m.Features) > 0:
			fmt.Fprintf(w, "features:    %s\n", strings.Join(m.Features, ", "))
		}
	}
	fmt.Fprintf(w, "\nmetadata (%d keys):\n", len(r.Metadata))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, kv := range r.Metadata {
		val := formatShort(kv.Value)
		if kv.Length > arrayPreview {
			val = strings.TrimSuffix(val, "]") + fmt.Sprintf(", ... (%d total)]", kv.Length)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", kv.Key, kv.Type, val)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ntensors (%d):\n", len(r.Tensors))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  name\ttype\tshape\tbytes\toffset\n")
	for _, t := range r.Tensors {
		dims := make([]string, len(t.Shape))
		for i, d := range t.Shape {
			dims[i] = fmt.Sprint(d)
		}
		fmt.Fprintf(tw, "  %s\t%s\t[%s]\t%d\t%d\n", t.Name, t.Type, strings.Join(dims, ", "), t.Bytes, t.Offset)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ntotals: %d tensors, %d parameters (%.2fM), %s, %.2f bits per weight\n",
		r.Totals.Tensors, r.Totals.Params, float64(r.Totals.Params)/1e6, humanBytes(r.Totals.Bytes), r.Totals.BitsPerWeight)
	for _, c := range r.Totals.TypeMix {
		fmt.Fprintf(w, "  %-8s %4d tensors  %12d params  %s\n", c.Type, c.Tensors, c.Params, humanBytes(c.Bytes))
	}
	return nil
}
