package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/tokenizer"
	"github.com/spf13/cobra"
)

func newTokenizeCmd() *cobra.Command {
	var model, text string
	var asJSON, noBOS, noSpecial bool
	cmd := &cobra.Command{
		Use:   "tokenize",
		Short: "Print the token ids of a text (BOS as the model asks)",
		Example: `  inferno tokenize -m ../shared/refdata/models/stories260K.gguf --text "Once upon a time"
  inferno tokenize -m model.gguf --text "<s>Hi" --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := gguf.Open(model)
			if err != nil {
				return err
			}
			defer f.Close()
			tk, err := tokenizer.FromGGUF(f)
			if err != nil {
				return err
			}
			ids := tk.Encode(text, !noBOS, !noSpecial)
			return printTokens(cmd.OutOrStdout(), tk, ids, asJSON)
		},
	}
	cmd.Flags().StringVarP(&model, "model", "m", "", "GGUF model or vocabulary file (required)")
	cmd.Flags().StringVar(&text, "text", "", "text to tokenize (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: ids and pieces")
	cmd.Flags().BoolVar(&noBOS, "no-bos", false, "do not add BOS/EOS")
	cmd.Flags().BoolVar(&noSpecial, "no-parse-special", false, "treat special-token text such as <s> as plain text")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("text")
	return cmd
}

func printTokens(w io.Writer, tk *tokenizer.Tokenizer, ids []int32, asJSON bool) error {
	if asJSON {
		pieces := make([]string, len(ids))
		for i, id := range ids {
			pieces[i] = string(tk.Piece(id, true))
		}
		if ids == nil {
			ids = []int32{}
		}
		b, _ := json.Marshal(map[string]any{"ids": ids, "pieces": pieces})
		_, err := fmt.Fprintln(w, string(b))
		return err
	}
	for _, id := range ids {
		fmt.Fprintf(w, "%6d -> %q\n", id, string(tk.Piece(id, true)))
	}
	return nil
}
