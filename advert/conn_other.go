//go:build !linux

package advert

import (
	"context"
	"errors"
	"net/netip"
)

// Conn sends and receives VRRP adverts through raw sockets; it exists on
// Linux only. Elsewhere Listen returns an error.
type Conn struct{}

var errNotLinux = errors.New("advert: raw VRRP sockets are implemented on Linux only")

// Listen returns an error: raw VRRP sockets are implemented on Linux only.
func Listen(ctx context.Context, cfg Config) (*Conn, error) { return nil, errNotLinux }

func (*Conn) Send(*Packet) error            { return errNotLinux }
func (*Conn) Receive(*Packet, []byte) error { return errNotLinux }
func (*Conn) WaitReceive() error            { return errNotLinux }

func (*Conn) ReceiveBatch([]Packet, [][]byte) (int, error) { return 0, errNotLinux }
func (*Conn) SendBatch([]Packet) (int, error)              { return 0, errNotLinux }
func (*Conn) LocalAddr() netip.Addr                        { return netip.Addr{} }
func (*Conn) Link() (bool, <-chan struct{})                { return false, nil }
func (*Conn) Ifindex() int                                 { return 0 }
func (*Conn) Close() error                                 { return nil }
func (*Conn) Stats() Stats                                 { return Stats{} }
