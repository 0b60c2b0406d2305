package txverify

import (
	"errors"
	"fmt"
)

// A minimal protobuf wire-format reader for the few TRON messages verified
// here. It reads fields one at a time; the message parsers decide which
// field numbers and wire types they accept and refuse everything else, so
// that an unknown or repeated field cannot carry meaning this package does
// not see.

// Protobuf wire types.
const (
	pbVarint  = 0
	pbFixed64 = 1
	pbBytes   = 2
	pbFixed32 = 5
)

var errPBTruncated = errors.New("truncated protobuf")

// pbField is one field of a message: its number, wire type and value (the
// integer for varint and fixed types, the bytes for length-delimited ones).
type pbField struct {
	num   uint64
	wire  int
	u     uint64
	bytes []byte
}

// pbVarintAt reads a varint (at most 10 bytes, no overflow past 64 bits).
func pbVarintAt(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, 0, errors.New("protobuf varint overflows 64 bits")
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1, nil
		}
	}
	if len(b) >= 10 {
		return 0, 0, errors.New("protobuf varint longer than 10 bytes")
	}
	return 0, 0, errPBTruncated
}

// pbNext reads the first field of b.
func pbNext(b []byte) (f pbField, rest []byte, err error) {
	key, n, err := pbVarintAt(b)
	if err != nil {
		return f, nil, err
	}
	b = b[n:]
	f.num, f.wire = key>>3, int(key&7)
	if f.num == 0 || f.num > 1<<29-1 {
		return f, nil, fmt.Errorf("protobuf field number %d out of range", f.num)
	}
	switch f.wire {
	case pbVarint:
		if f.u, n, err = pbVarintAt(b); err != nil {
			return f, nil, err
		}
		return f, b[n:], nil
	case pbFixed64:
		if len(b) < 8 {
			return f, nil, errPBTruncated
		}
		for i := 7; i >= 0; i-- {
			f.u = f.u<<8 | uint64(b[i])
		}
		return f, b[8:], nil
	case pbFixed32:
		if len(b) < 4 {
			return f, nil, errPBTruncated
		}
		for i := 3; i >= 0; i-- {
			f.u = f.u<<8 | uint64(b[i])
		}
		return f, b[4:], nil
	case pbBytes:
		size, n, err := pbVarintAt(b)
		if err != nil {
			return f, nil, err
		}
		b = b[n:]
		if size > uint64(len(b)) {
			return f, nil, errPBTruncated
		}
		f.bytes = b[:size]
		return f, b[size:], nil
	}
	return f, nil, fmt.Errorf("protobuf wire type %d (field %d) not supported", f.wire, f.num)
}

// pbSchema lists the fields a message may carry: number -> wire type and
// whether it may repeat.
type pbSchema map[uint64]struct {
	wire     int
	repeated bool
}

// pbParse splits msg into its fields under schema: every field must be
// listed with the listed wire type, and only repeated ones may occur more
// than once. name names the message in errors.
func pbParse(msg []byte, schema pbSchema, name string) (map[uint64][]pbField, error) {
	out := make(map[uint64][]pbField)
	for len(msg) > 0 {
		f, rest, err := pbNext(msg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		spec, ok := schema[f.num]
		if !ok {
			return nil, fmt.Errorf("%s: unexpected field %d", name, f.num)
		}
		if f.wire != spec.wire {
			return nil, fmt.Errorf("%s: field %d has wire type %d, want %d", name, f.num, f.wire, spec.wire)
		}
		if len(out[f.num]) > 0 && !spec.repeated {
			return nil, fmt.Errorf("%s: field %d occurs more than once", name, f.num)
		}
		out[f.num] = append(out[f.num], f)
		msg = rest
	}
	return out, nil
}
