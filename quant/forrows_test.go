package quant

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestForRows(t *testing.T) {
	for _, c := range []struct{ rows, threads int }{{0, 2}, {1, 4}, {7, 2}, {10, 3}, {5, 0}, {1000, 3}} {
		var seen [1000]atomic.Int32
		if err := ForRows(context.Background(), c.rows, c.threads, func(lo, hi int) error {
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
	if err := ForRows(context.Background(), 8, 2, func(lo, hi int) error {
		if lo <= 3 && 3 < hi {
			return bad
		}
		return nil
	}); err != bad {
		t.Errorf("error %v, want %v", err, bad)
	}
}

// A cancelled context stops ForRows within one chunk: a conversion that is interrupted
// does not run to the end of its tensor.
func TestForRowsCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := ForRows(ctx, 100*forRowsChunk, 1, func(lo, hi int) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("%d chunks ran after the cancel, error %v", calls, err)
	}
	if err := ForRows(ctx, 10, 2, func(lo, hi int) error { t.Error("ran with a done context"); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("done context: %v", err)
	}
}
