package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newLogitsCmd() *cobra.Command {
	var mf modelFlags
	var prompt, out string
	cmd := &cobra.Command{
		Use:     "logits",
		Short:   "Write the last-position logits of a prompt (full vocabulary) as JSON",
		Long:    "Write the last-position logits of a prompt (full vocabulary) as JSON.\n\n" + nonFiniteJSONHelp,
		Example: `  inferno logits -m ../shared/refdata/models/stories260K.gguf -p "Once upon a time" --output-json logits.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputPath("--output-json", out); err != nil {
				return err
			}
			if err := mf.applyConfig(cmd); err != nil {
				return err
			}
			m, err := mf.load(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer m.Close()
			ids := m.Tokenize(prompt)
			s, err := m.NewSession()
			if err != nil {
				return err
			}
			defer s.Close()
			logits, err := s.Eval(cmd.Context(), ids)
			if err != nil {
				return err
			}
			if err := writeJSONFile(out, map[string]any{"prompt_tokens": ids, "logits": jsonFloats32(logits)}); err != nil {
				return err
			}
			fmt.Fprintf(logWriter(cmd.ErrOrStderr()), "wrote %d logits after %d prompt tokens to %s\n", len(logits), len(ids), out)
			return nil
		},
	}
	mf.register(cmd)
	cmd.Flags().StringVarP(&prompt, "prompt", "p", "", "prompt text (required)")
	cmd.Flags().StringVar(&out, "output-json", "", "output file (required)")
	_ = cmd.MarkFlagRequired("prompt")
	_ = cmd.MarkFlagRequired("output-json")
	return cmd
}
