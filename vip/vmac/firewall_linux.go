//go:build linux

package vmac

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// firewall keeps a backup's VMAC from sending from the virtual MAC, which
// would move the switch's entry for it to the backup's port — keepalived's
// rules, in two nftables tables of the Manager's own:
//
//	table ip vrrpkit-vmac-PID-N {
//		chain out {
//			type filter hook output priority filter - 1
//			oif VMAC ip protocol igmp dup to ip daddr device BASE drop
//		}
//	}
//	table ip6 vrrpkit-vmac-PID-N {
//		chain out {
//			type filter hook output priority filter - 1
//			oif VMAC icmpv6 type mld-listener-report dup to ip6 daddr device BASE drop
//			oif VMAC icmpv6 type mld2-listener-report dup to ip6 daddr device BASE drop
//			oif VMAC icmpv6 type nd-neighbor-advert ip6 saddr fe80::/10 drop
//			oif VMAC icmpv6 type nd-router-solicit drop
//		}
//	}
//
// Multicast group reports go out of the base interface instead (a snooping
// switch keeps sending the groups to the host), and the VMAC answers no
// neighbour solicitation for the link-local address it shares with its
// base. Unsolicited advertisements of the virtual addresses come from
// those addresses and pass. Each rule's user data names its VMAC.
//
// A table in use is marked by an abstract unix socket named after it; one
// whose mark is free was left by a crashed run and is deleted at open.
type firewall struct {
	nft        *nftables.Conn
	name       string
	mark       int
	t4, t6     *nftables.Table
	out4, out6 *nftables.Chain
}

// fwPrefix starts the name of every table of a firewall.
const fwPrefix = "vrrpkit-vmac-"

var fwSeq atomic.Uint64

func fwMark(table string) string {
	m := "vrrpkit/nft/vmac/" + table
	if len(m) > 100 {
		sum := sha256.Sum256([]byte(table))
		m = "vrrpkit/nft/vmac/#" + hex.EncodeToString(sum[:16])
	}
	return "@" + m
}

// bindMark binds the abstract socket mark in the calling thread's
// namespace; EADDRINUSE means a live process holds it.
func bindMark(mark string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: mark}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func newFirewall(ns *namespace) (*firewall, error) {
	f := &firewall{name: fmt.Sprintf("%s%d-%d", fwPrefix, os.Getpid(), fwSeq.Add(1)), mark: -1}
	err := ns.do(func() error {
		var err error
		if f.mark, err = bindMark(fwMark(f.name)); err != nil {
			return fmt.Errorf("mark nftables table %s: %w", f.name, err)
		}
		if f.nft, err = nftables.New(nftables.AsLasting()); err != nil {
			return err
		}
		f.removeLeftovers()
		return f.create()
	})
	if err != nil {
		if f.nft != nil {
			_ = f.nft.CloseLasting()
		}
		if f.mark >= 0 {
			unix.Close(f.mark)
		}
		return nil, fmt.Errorf("vmac: firewall: %w", err)
	}
	return f, nil
}

// removeLeftovers deletes the tables of crashed runs (runs in the
// Manager's namespace: the marks are looked up there).
func (f *firewall) removeLeftovers() {
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		tables, err := f.nft.ListTablesOfFamily(fam)
		if err != nil {
			continue
		}
		for _, t := range tables {
			if !strings.HasPrefix(t.Name, fwPrefix) || t.Name == f.name {
				continue
			}
			probe, err := bindMark(fwMark(t.Name))
			if err != nil {
				continue // a live process's
			}
			f.nft.DelTable(&nftables.Table{Family: fam, Name: t.Name})
			_ = f.nft.Flush()
			unix.Close(probe)
		}
	}
}

func (f *firewall) create() error {
	prio := nftables.ChainPriorityRef(*nftables.ChainPriorityFilter - 1)
	f.t4 = f.nft.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: f.name})
	f.t6 = f.nft.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv6, Name: f.name})
	f.out4 = f.nft.AddChain(&nftables.Chain{Name: "out", Table: f.t4, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: prio})
	f.out6 = f.nft.AddChain(&nftables.Chain{Name: "out", Table: f.t6, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: prio})
	if err := f.nft.Flush(); err != nil {
		return fmt.Errorf("create nftables tables %s: %w", f.name, err)
	}
	return nil
}

func u32(v int) []byte { return binary.NativeEndian.AppendUint32(nil, uint32(v)) }

// add puts v's rules in.
func (f *firewall) add(v VMAC) error {
	oif := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIF, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: u32(v.Index)},
	}
	l4 := func(p byte) []expr.Any {
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p}},
		}
	}
	icmp6Type := func(t byte) []expr.Any {
		return append(l4(unix.IPPROTO_ICMPV6),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{t}})
	}
	dupToBase := func(daddrOff, daddrLen uint32) []expr.Any {
		return []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: daddrOff, Len: daddrLen},
			&expr.Immediate{Register: 2, Data: u32(v.BaseIndex)},
			&expr.Dup{RegAddr: 1, RegDev: 2, IsRegDevSet: true},
		}
	}
	drop := &expr.Verdict{Kind: expr.VerdictDrop}
	join := func(parts ...[]expr.Any) []expr.Any {
		var out []expr.Any
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tag := []byte(v.Name)
	f.nft.AddRule(&nftables.Rule{Table: f.t4, Chain: f.out4, UserData: tag,
		Exprs: join(oif, l4(unix.IPPROTO_IGMP), dupToBase(16, 4), []expr.Any{drop})})
	for _, t := range []byte{131, 143} { // MLD and MLDv2 listener reports
		f.nft.AddRule(&nftables.Rule{Table: f.t6, Chain: f.out6, UserData: tag,
			Exprs: join(oif, icmp6Type(t), dupToBase(24, 16), []expr.Any{drop})})
	}
	f.nft.AddRule(&nftables.Rule{Table: f.t6, Chain: f.out6, UserData: tag,
		Exprs: join(oif, icmp6Type(136), []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 16,
				Mask: []byte{0xff, 0xc0, 14: 0, 15: 0}, Xor: make([]byte, 16)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0xfe, 0x80, 14: 0, 15: 0}},
			drop,
		})})
	f.nft.AddRule(&nftables.Rule{Table: f.t6, Chain: f.out6, UserData: tag,
		Exprs: join(oif, icmp6Type(133), []expr.Any{drop})})
	if err := f.nft.Flush(); err != nil {
		return fmt.Errorf("nftables rules for %s: %w", v.Name, err)
	}
	return nil
}

// remove takes out the rules of the VMAC called name.
func (f *firewall) remove(name string) error {
	var errs []error
	for _, tc := range []struct {
		t *nftables.Table
		c *nftables.Chain
	}{{f.t4, f.out4}, {f.t6, f.out6}} {
		rules, err := f.nft.GetRules(tc.t, tc.c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, r := range rules {
			if bytes.Equal(r.UserData, []byte(name)) {
				errs = append(errs, f.nft.DelRule(r))
			}
		}
	}
	if err := f.nft.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (f *firewall) close() error {
	f.nft.DelTable(f.t4)
	f.nft.DelTable(f.t6)
	err := f.nft.Flush()
	if errors.Is(err, unix.ENOENT) {
		err = nil
	}
	err = errors.Join(err, f.nft.CloseLasting())
	unix.Close(f.mark)
	return err
}
