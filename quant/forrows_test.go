package quant

import (
	"errors"
	"sync/atomic"
	"testing"
)

func TestForRows(t *testing.T) {
	for _, c := range []struct{ rows, threads int }{{0, 2}, {1, 4}, {7, 2}, {10, 3}, {5, 0}} {
		var seen [16]atomic.Int32
		if err := ForRows(c.rows, c.threads, func(lo, hi int) error {
			for r := lo; r < hi; r++ {
				seen[r].Add(1)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for r := range seen {
			if want := int32(min(1, max(0, c.rows-r))); seen[r].Load() != want {
				t.Errorf("%d rows, %d threads: row %d visited %d times", c.rows, c.threads, r, seen[r].Load())
			}
		}
	}
	bad := errors.New("row 3")
	if err := ForRows(8, 2, func(lo, hi int) error {
		if lo <= 3 && 3 < hi {
			return bad
		}
		return nil
	}); err != bad {
		t.Errorf("error %v, want %v", err, bad)
	}
}
