package netlab

import "github.com/google/nftables"

// NFTables lists the names of the host's nftables tables of family inet
// (what `nft list tables inet` prints), for tests of firewall rules.
func (h *Host) NFTables() ([]string, error) {
	var names []string
	err := h.Do(func() error {
		c, err := nftables.New()
		if err != nil {
			return err
		}
		tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
		for _, t := range tables {
			names = append(names, t.Name)
		}
		return err
	})
	return names, err
}
