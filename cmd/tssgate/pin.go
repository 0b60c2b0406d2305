package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"tssgate/internal/governance"
	"tssgate/internal/store"
	"tssgate/internal/store/backend"
)

// governancePinFile is the file in the data folder that remembers the
// governance this server last ran under. The data folder holds the
// callback server's key pair, which is what the TSS Node trusts: a
// configuration pointed at another decision store (an empty one, where
// trust on first use would adopt anybody's governance, and where no
// freeze is recorded) must not be able to take that key along.
const governancePinFile = "governance.pin"

var pinRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// readGovernancePin returns the pinned governance SHA-256 in dataDir, ""
// when there is no pin. A pin that does not read is an error (fail
// closed: a damaged pin must not read as "never governed").
func readGovernancePin(dataDir string) (string, error) {
	path := filepath.Join(dataDir, governancePinFile)
	b, err := governance.ReadRegularFile(path, 4096)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("governance pin %s: %w", path, err)
	}
	pin := strings.TrimSpace(string(b))
	if !pinRE.MatchString(pin) {
		return "", fmt.Errorf("governance pin %s does not hold a SHA-256 (64 lower-case hex digits); it is written by tssgate serve and must not be edited", path)
	}
	return pin, nil
}

// checkGovernancePin refuses a store that never held the governance this
// data folder's server last ran under: a store without any governance
// (trust on first use would adopt whatever file the configuration names)
// or one whose log has no GOVERNANCE row adopting the pinned one. A store
// that adopted the pinned governance and later changed it by quorum (on
// another replica) passes: its log holds both.
func checkGovernancePin(ctx context.Context, st store.Store, dataDir, dsn string) error {
	pin, err := readGovernancePin(dataDir)
	if err != nil || pin == "" {
		return err
	}
	found := false
	errFound := errors.New("found")
	err = st.List(ctx, store.Filter{Type: "GOVERNANCE", Rule: ruleGovernance}, func(r *store.Record) error {
		var g struct {
			SHA256 string `json:"governance_sha256"`
		}
		if json.Unmarshal(r.Request, &g) == nil && g.SHA256 == pin {
			found = true
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return fmt.Errorf("reading the store's governance history: %w", err)
	}
	if !found {
		return fmt.Errorf("this data folder's server (its key pair, %s) last ran under governance sha256 %s, and the decision store %s never adopted it: a governed server is not moved to a store without its governance (where trust on first use would adopt any file, and no freeze is recorded); point the configuration back at the store that holds it, or start a new deployment with a new data folder (a new key pair the TSS Node must be given)",
			dataDir, pin, backend.Redact(dsn))
	}
	return nil
}

// writeGovernancePin records sha as the governance this data folder's
// server runs under (atomically, mode 0600), unless it is pinned already.
func writeGovernancePin(dataDir, sha string) error {
	if cur, err := readGovernancePin(dataDir); err == nil && cur == sha {
		return nil
	}
	path := filepath.Join(dataDir, governancePinFile)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("writing the governance pin: %w", err)
	}
	tmp, err := os.CreateTemp(dataDir, governancePinFile+".*")
	if err != nil {
		return fmt.Errorf("writing the governance pin: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(sha + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the governance pin: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the governance pin: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the governance pin: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the governance pin: %w", err)
	}
	return nil
}
