// Package refdata locates llama.cpp's reference data (../shared/refdata beside the
// repository) for tests. It exists so every test finds the data the same way and
// fails, rather than skips, when the data is missing in CI.
package refdata

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the refdata directory. $INFERNO_REFDATA overrides the default
// <module root>/../shared/refdata. When it is missing the test is skipped with a
// message, except under CI (CI=true), where a missing directory is a failure.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("INFERNO_REFDATA"); d != "" {
		return check(t, d)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("refdata: %v", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return check(t, filepath.Join(d, "..", "shared", "refdata"))
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return check(t, filepath.Join(wd, "..", "shared", "refdata"))
}

// Path joins elem onto Dir.
func Path(t testing.TB, elem ...string) string {
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
}

func check(t testing.TB, d string) string {
	t.Helper()
	if _, err := os.Stat(d); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("refdata: %s is missing (CI must run beside ../shared/refdata)", d)
		}
		t.Skipf("SKIP: reference data not found at %s (set INFERNO_REFDATA or check out shared/ beside the repository)", d)
	}
	return d
}
