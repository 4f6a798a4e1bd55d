package metal

import (
	"encoding/binary"
	"math"

	"github.com/inferno-go/inferno/backend"
)

// The ops of backend.ArchOps, with the kernels of arch.metal.

func (b *Backend) Scale(x backend.Tensor, s float32) {
	b.run(LaunchScale(arg(x), x.Rows()*x.Cols(), s))
}

func (b *Backend) AddRow(dst, x, bias backend.Tensor) {
	b.run(LaunchAddRow(arg(x), arg(bias), arg(dst), x.Rows()*x.Cols(), x.Cols()))
}

func (b *Backend) SoftCap(x backend.Tensor, c float32) {
	b.run(LaunchSoftCap(arg(x), x.Rows()*x.Cols(), c))
}

func (b *Backend) GeGLU(dst, gate, up backend.Tensor) {
	b.run(LaunchGeGLU(arg(gate), arg(up), arg(dst), gate.Rows()*gate.Cols()))
}

// ropeFF is Rope with frequency factors (ones when only the attention factor is set).
// A model's factor slice does not change, so its device copy is made once and kept,
// keyed by the slice's first element (nil: the ones).
func (b *Backend) ropeFF(x backend.Tensor, pos []int32, p backend.RopeParams) {
	var key *float32
	if p.Factors != nil {
		key = &p.Factors[0]
	}
	buf, ok := b.ropeFactors[key]
	if !ok {
		ff := p.Factors
		if ff == nil {
			ff = make([]float32, p.Dims/2)
			for i := range ff {
				ff[i] = 1
			}
		}
		raw := make([]byte, 4*len(ff))
		for i, v := range ff {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		var err error
		if buf, err = b.dev.NewBuffer(len(raw)); err != nil {
			b.fail(err)
			return
		}
		if err := buf.Write(0, raw); err != nil { // a new buffer: no pending dispatch binds it
			b.fail(err)
			return
		}
		if b.ropeFactors == nil {
			b.ropeFactors = map[*float32]Buffer{}
		}
		b.ropeFactors[key] = buf
	}
	b.run(LaunchRopeFF(arg(x), b.upload(&b.pos, pos), Arg{Buf: buf}, x.Rows(), p))
}

var _ backend.ArchOps = (*Backend)(nil)
