package vip

import (
	"encoding/binary"
	"math"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// deletionFilter is the route watch's socket filter: the kernel keeps
// only what the watch acts on, RTM_DELROUTE of routes with our protocol
// and RTM_DELRULE (a rule's protocol is an attribute, which the watch
// checks). Every address added makes route notifications of its own
// (local and broadcast routes), a takeover of a thousand addresses
// thousands, which the watch would read only to drop.
func deletionFilter(proto uint8) []bpf.RawInstruction {
	// The filter loads in network byte order; netlink's header fields
	// are the host's.
	var b [2]byte
	typ := func(t uint16) uint32 {
		binary.NativeEndian.PutUint16(b[:], t)
		return uint32(binary.BigEndian.Uint16(b[:]))
	}
	const (
		typeOffset  = 4                       // nlmsghdr.nlmsg_type
		protoOffset = unix.SizeofNlMsghdr + 5 // rtmsg.rtm_protocol
	)
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: typeOffset, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: typ(unix.RTM_DELRULE), SkipTrue: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: typ(unix.RTM_DELROUTE), SkipFalse: 2},
		bpf.LoadAbsolute{Off: protoOffset, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(proto), SkipTrue: 1},
		bpf.RetConstant{Val: 0},
		bpf.RetConstant{Val: math.MaxUint32},
	})
	if err != nil {
		panic(err) // a fixed program: only a bug here fails to assemble
	}
	return prog
}
