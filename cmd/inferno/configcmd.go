package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/inferno-go/inferno/config"
	"github.com/spf13/cobra"
)

// loadConfig resolves .inferno.toml, $XDG_CONFIG_HOME/inferno/config.toml and INFERNO_*.
func loadConfig() (*config.Config, error) {
	cwd, xdg := config.Dirs()
	return config.Load(cwd, xdg, os.Getenv)
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show the effective configuration"}
	var asJSON bool
	show := &cobra.Command{
		Use:   "show",
		Short: "Print every setting, its value and where it came from",
		Example: `  inferno config show
  INFERNO_CONTEXT_SIZE=4096 inferno config show --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				m := map[string]any{}
				for _, s := range config.Settings {
					v := c.Values[s.Key]
					m[s.Section+"."+s.Key] = map[string]any{"value": v.Value, "source": v.Source}
				}
				b, _ := json.MarshalIndent(map[string]any{"files": c.Files, "settings": m}, "", "  ")
				fmt.Fprintln(out, string(b))
				return nil
			}
			fmt.Fprintf(out, "config files (lowest precedence first): %v\n", c.Files)
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			section := ""
			for _, s := range config.Settings {
				if s.Section != section {
					section = s.Section
					fmt.Fprintf(tw, "[%s]\t\t\n", section)
				}
				v := c.Values[s.Key]
				fmt.Fprintf(tw, "%s = %v\t# %s\t\n", s.Key, v.Value, v.Source)
			}
			return tw.Flush()
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(show)
	return cmd
}
