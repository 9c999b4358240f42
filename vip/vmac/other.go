//go:build !linux

package vmac

import (
	"context"
	"errors"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// ErrUnsupported: VMACs are macvlan interfaces, which only Linux has.
var ErrUnsupported = errors.New("vmac: macvlan interfaces need Linux")

// Manager is not available outside Linux: New fails.
type Manager struct{}

// New fails with ErrUnsupported.
func New(Config) (*Manager, error) { return nil, ErrUnsupported }

func (m *Manager) Add(context.Context, Spec) (VMAC, error)           { return VMAC{}, ErrUnsupported }
func (m *Manager) Remove(context.Context, string) error              { return ErrUnsupported }
func (m *Manager) RemoveLeftovers(context.Context) ([]string, error) { return nil, ErrUnsupported }
func (m *Manager) Held() []VMAC                                      { return nil }
func (m *Manager) Network(inner vrrp.Network) vrrp.Network           { return inner }
func (m *Manager) Close() error                                      { return nil }
