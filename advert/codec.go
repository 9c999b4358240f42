package advert

import (
	"errors"
	"net/netip"
)

// Placeholder signatures: the codec is being written (issue 2). Other
// packages compile against these; the bodies are replaced, not the shapes.

var errUnimplemented = errors.New("advert: codec not implemented yet")

// Append appends the wire form of a to b, with the checksum computed for a
// message carried from src to dst in mode. It allocates nothing when b has room.
func (a *Advert) Append(b []byte, src, dst netip.Addr, mode ChecksumMode) ([]byte, error) {
	return b, errUnimplemented
}

// Decode parses the VRRP message b, carried from src to dst, into a, reusing
// a.Addrs. It verifies the checksum in mode and returns the mode that matched.
func (a *Advert) Decode(b []byte, src, dst netip.Addr, mode ChecksumMode) (ChecksumMode, error) {
	return mode, errUnimplemented
}
