package cuda

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// A decode step is one Sync of some 200 small dispatches, identical from token to token
// (what changes lives in device buffers). Sync captures such a list as a CUDA graph the
// second time it sees it and from then on launches the graph: one driver call instead
// of one per kernel. Lists are told apart by a signature of everything a launch passes
// the driver; equal signatures launch exactly the same kernels with the same parameters.

// minGraphDispatches is the shortest list worth a graph: shorter ones are launched as
// they are (a graph's capture and instantiation cost more than a few launches save).
const minGraphDispatches = 16

// Stream capture modes (CUstreamCaptureMode).
const captureModeThreadLocal = 1

// graphCache is the one captured list the device keeps: a new list replaces it.
type graphCache struct {
	off      bool      // INFERNO_CUDA_GRAPH=0: plain launches only
	debug    io.Writer // where a graph failure is reported (INFERNO_CUDA_DEBUG); nil: silent
	reported bool      // a failure was reported (once)

	sig     []byte  // the captured list's signature
	graph   uintptr // CUgraph of that list (0: none)
	exec    uintptr // CUgraphExec instantiated from it
	seen    []byte  // the last long list launched plainly: captured if it comes again
	refused []byte  // a list whose graph failed: launched plainly from then on
	cur     []byte  // the signature being built (reused)
}

// signature appends to dst what the driver is passed for each dispatch of p: the
// function, grid, block, shared bytes and each parameter (a device address, or the
// value's length and bytes).
func signature(dst []byte, p []recorded) []byte {
	for _, r := range p {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(r.fn))
		for _, v := range [...]int{r.d.Grid[0], r.d.Grid[1], r.d.Grid[2], r.d.Threads[0], r.d.Threads[1], r.d.Threads[2], r.d.Shared, len(r.d.Args)} {
			dst = binary.LittleEndian.AppendUint32(dst, uint32(v))
		}
		for i, a := range r.d.Args {
			if gb := r.bufs[i]; gb != nil {
				dst = append(dst, 'p')
				dst = binary.LittleEndian.AppendUint64(dst, gb.ptr+uint64(a.Off))
				continue
			}
			dst = append(dst, 'v')
			dst = binary.LittleEndian.AppendUint32(dst, uint32(len(a.Bytes)))
			dst = append(dst, a.Bytes...)
		}
	}
	return dst
}

// launchAll puts p on the stream: through the cached graph when p is the list it was
// captured from, by capturing p when p came in the Sync before too, else kernel by
// kernel. A graph that fails falls back to plain launches of p (the failure reported
// once under INFERNO_CUDA_DEBUG); only a plain launch's error is returned. Callers
// hold d.mu inside enter.
func (d *GPUDevice) launchAll(p []recorded) error {
	g := &d.graphs
	if g.off || len(p) < minGraphDispatches {
		return d.launchPlain(p)
	}
	g.cur = signature(g.cur[:0], p)
	switch {
	case g.exec != 0 && bytes.Equal(g.cur, g.sig):
		r := d.drv.GraphLaunch(g.exec, d.stream)
		if r == 0 {
			return nil
		}
		d.graphFailed(d.drv.check(r, "cuGraphLaunch", fmt.Sprintf("%d dispatches", len(p))))
		d.dropGraph()
	case bytes.Equal(g.cur, g.seen) && !bytes.Equal(g.cur, g.refused):
		err := d.capture(p)
		if err == nil {
			r := d.drv.GraphLaunch(g.exec, d.stream)
			if r == 0 {
				return nil
			}
			err = d.drv.check(r, "cuGraphLaunch", fmt.Sprintf("%d dispatches", len(p)))
			d.dropGraph()
		}
		d.graphFailed(err)
	default:
		g.seen = append(g.seen[:0], g.cur...)
		return d.launchPlain(p)
	}
	g.refused = append(g.refused[:0], g.cur...)
	return d.launchPlain(p)
}

// launchPlain launches p kernel by kernel; after a failed launch the rest are dropped.
func (d *GPUDevice) launchPlain(p []recorded) error {
	for _, r := range p {
		if err := d.launch(r); err != nil {
			return err
		}
	}
	return nil
}

// capture records p's launches on the stream into a graph (nothing runs), instantiates
// it and makes it the cached one, replacing the old.
func (d *GPUDevice) capture(p []recorded) error {
	drv := d.drv
	if err := drv.check(drv.StreamBeginCapture(d.stream, captureModeThreadLocal), "cuStreamBeginCapture", ""); err != nil {
		return err
	}
	lerr := d.launchPlain(p)
	var graph uintptr
	r := drv.StreamEndCapture(d.stream, &graph) // always: the stream leaves capture mode
	if lerr == nil {
		lerr = drv.check(r, "cuStreamEndCapture", fmt.Sprintf("%d dispatches", len(p)))
	}
	if lerr == nil && graph == 0 {
		lerr = fmt.Errorf("cuda: cuStreamEndCapture(%d dispatches): no graph", len(p))
	}
	if lerr != nil {
		if graph != 0 {
			drv.GraphDestroy(graph)
		}
		return lerr
	}
	var exec uintptr
	if err := drv.check(drv.GraphInstantiate(&exec, graph, 0), "cuGraphInstantiateWithFlags", fmt.Sprintf("%d dispatches", len(p))); err != nil {
		drv.GraphDestroy(graph)
		return err
	}
	d.dropGraph()
	g := &d.graphs
	g.graph, g.exec = graph, exec
	g.sig = append(g.sig[:0], g.cur...)
	return nil
}

// dropGraph destroys the cached graph, if any.
func (d *GPUDevice) dropGraph() {
	g := &d.graphs
	if g.exec != 0 {
		d.drv.GraphExecDestroy(g.exec)
	}
	if g.graph != 0 {
		d.drv.GraphDestroy(g.graph)
	}
	g.exec, g.graph, g.sig = 0, 0, g.sig[:0]
}

// graphFailed reports the first graph failure under INFERNO_CUDA_DEBUG.
func (d *GPUDevice) graphFailed(err error) {
	g := &d.graphs
	if g.debug == nil || g.reported {
		return
	}
	g.reported = true
	fmt.Fprintf(g.debug, "%v; that list is launched kernel by kernel (further graph failures are not reported)\n", err)
}
