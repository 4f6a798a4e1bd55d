package conformance

import (
	"os"
	"testing"
	"time"

	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/metal/sim"
)

// TestSimulator runs every case in the three lane orders with strict diagnostics.
func TestSimulator(t *testing.T) {
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	dev, err := metal.NewSimDevice()
	if err != nil {
		t.Fatal(err)
	}
	orders := []sim.LaneOrder{sim.Forward, sim.Reverse, sim.Shuffled}
	if testing.Short() {
		orders = orders[:1]
	}
	for _, o := range orders {
		dev.Order, dev.Seed = o, 42
		rs := Run(dev, "")
		if len(rs) < 120 {
			t.Errorf("only %d cases", len(rs))
		}
		for _, r := range rs {
			if o == sim.Forward {
				t.Logf("%-40s NMSE %.3g (max %.0g) %v", r.Name, r.NMSE, r.Max, r.Elapsed.Round(time.Microsecond))
			}
			if !r.Pass {
				t.Errorf("%s [%s lanes]: NMSE %.3g (max %.0g) err %v", r.Name, o, r.NMSE, r.Max, r.Err)
			}
		}
	}
}
