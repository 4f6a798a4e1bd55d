package server

import (
	"path/filepath"
	"testing"

	"github.com/inferno-go/inferno/server/dashboard"
	"github.com/inferno-go/inferno/server/dashboard/dashboardtest"
)

// The dashboard served by the real server, in headless Chromium: the page shows the
// model and the system from /inferno/status, two chat messages stream replies from
// stories260K with tok/s under them, the charts get points, and nothing reaches the
// console as an error.
func TestDashboardOnServer(t *testing.T) {
	_, ts := newTestServer(t, Config{Dashboard: dashboard.Handler(), System: System{CPU: "Test CPU", Features: []string{"avx2"}}})
	res := dashboardtest.Check(t, ts.URL, filepath.Join(dashboardtest.ArtifactDir(t), "dashboard-serve.png"))
	t.Logf("screenshot %s", res.Shot)
}

// The same with --api-key: the page and its assets load without the key; without it,
// and with a wrong one typed, the page shows HTTP 401 (banner, failed reply); with the
// right key typed into its field every check passes.
func TestDashboardOnServerWithKey(t *testing.T) {
	const key = "dashboard-test-key"
	_, ts := newTestServer(t, Config{APIKey: key, Dashboard: dashboard.Handler(), System: System{CPU: "Test CPU", Features: []string{"avx2"}}})
	res := dashboardtest.CheckWithKey(t, ts.URL, key, filepath.Join(dashboardtest.ArtifactDir(t), "dashboard-serve-key.png"))
	t.Logf("screenshot %s", res.Shot)
}
