package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"tssgate/internal/governance"
	"tssgate/internal/policy"
	"tssgate/internal/store"
)

// Chain rows serve writes about governance and policy loads: operator
// records (they approve nothing), found by their rule.
const (
	ruleGovernance = "operator:governance"
	rulePolicy     = "operator:policy"
)

// governTimeout bounds each store call of the governance steps.
const governTimeout = 10 * time.Second

// establishGovernance returns the governance in force for serve, given the
// configured file (nil without governance: nothing to establish). On first
// use the file is adopted (trust on first use). When the file differs from
// the one in force, it is adopted only if its bundle (FILE.sigs) holds a
// quorum of the governance in force over its manifest; otherwise serve
// refuses to start, at every start, since the store still holds the old
// one. Each adoption is a chain row, committed with it.
//
// Without a governance file, a store that holds a governance in force is
// refused too: turning governance off is the loosest change of all, and
// editing the configuration must not be enough for it.
func establishGovernance(ctx context.Context, st store.Store, path string, file *governance.Governance, log *slog.Logger, stdout io.Writer) (*governance.Governance, error) {
	if file == nil {
		qctx, cancel := context.WithTimeout(ctx, governTimeout)
		cur, err := st.Governance(qctx)
		cancel()
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("reading the governance in force: %w", err)
		}
		return nil, fmt.Errorf("no governance file is configured, but this store has a governance in force (sha256 %s, adopted %s at decision %d): policies here need its approvers' signatures, and governance cannot be turned off by configuration; configure tssgate.governance (--governance) with that file",
			cur.SHA256, cur.AdoptedAt.Format(time.RFC3339), cur.Seq)
	}
	for attempt := 0; ; attempt++ {
		qctx, cancel := context.WithTimeout(ctx, governTimeout)
		cur, err := st.Governance(qctx)
		cancel()
		var res governance.Result
		prev := ""
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("reading the governance in force: %w", err)
		case cur.SHA256 == file.SHA256:
			fmt.Fprintf(stdout, "tssgate: governance %s in force (sha256 %s, adopted %s at decision %d): %d of %d approvers must sign\n",
				path, file.SHA256, cur.AdoptedAt.Format(time.RFC3339), cur.Seq, file.Threshold, len(file.Approvers))
			return file, nil
		default:
			inForce, err := governance.Parse("governance in force (seq "+fmt.Sprint(cur.Seq)+")", cur.Content)
			if err != nil {
				return nil, fmt.Errorf("the governance in force in the store does not parse: %w", err)
			}
			m, err := governance.GovernanceManifest(file)
			if err != nil {
				return nil, err
			}
			sigs, err := governance.ReadBundle(governance.BundlePath(path))
			if err != nil {
				return nil, err
			}
			res, err = inForce.Require(fmt.Sprintf("governance file %s (sha256 %s) differs from the governance in force (sha256 %s, adopted %s at seq %d) and its change needs %s signed by the governance in force",
				path, file.SHA256, cur.SHA256, cur.AdoptedAt.Format(time.RFC3339), cur.Seq, governance.BundlePath(path)), m.Text, sigs)
			if err != nil {
				return nil, fmt.Errorf("%w; refused (the governance in force stays; restore its file or collect the signatures)", err)
			}
			prev = cur.SHA256
		}
		req, _ := json.Marshal(map[string]any{
			"operator_action":   "governance",
			"governance_file":   path,
			"governance_sha256": file.SHA256,
			"previous_sha256":   prev,
			"threshold":         file.Threshold,
			"approvers":         approverList(file),
			"signers":           nonNilSigners(res.Signers),
		})
		now := time.Now()
		reason := "governance adopted on first use (trust on first use)"
		if prev != "" {
			reason = "governance change signed by " + signerNames(res.Signers) + " under the governance in force " + prev
		}
		rec := store.Record{
			RequestID: fmt.Sprintf("operator:governance:%s:%d", file.SHA256[:16], now.UnixNano()),
			Version:   "operator", Type: "GOVERNANCE", NodeKey: "operator:serve", ReceivedAt: now,
			Request: req, Action: store.ActionReject, Rule: ruleGovernance, Reason: reason, PolicyVersion: "operator",
		}
		qctx, cancel = context.WithTimeout(ctx, governTimeout)
		stored, err := st.AdoptGovernance(qctx, prev, store.GovernanceState{SHA256: file.SHA256, Content: file.Content}, rec)
		cancel()
		if errors.Is(err, store.ErrGovernanceChanged) && attempt == 0 {
			// Another replica adopted one meanwhile: decide again against it.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("adopting the governance: %w", err)
		}
		log.Info("governance adopted", slog.String("path", path), slog.String("sha256", file.SHA256),
			slog.String("previous_sha256", prev), slog.Int64("seq", stored.Seq))
		if prev == "" {
			fmt.Fprintf(stdout, "tssgate: governance %s (sha256 %s) adopted on first use (decision %d): %d of %d approvers must sign\n",
				path, file.SHA256, stored.Seq, file.Threshold, len(file.Approvers))
		} else {
			fmt.Fprintf(stdout, "tssgate: governance change to %s (sha256 %s) signed by %s adopted (decision %d)\n",
				path, file.SHA256, signerNames(res.Signers), stored.Seq)
		}
		return file, nil
	}
}

func approverList(g *governance.Governance) []governance.Signer {
	out := make([]governance.Signer, len(g.Approvers))
	for i, a := range g.Approvers {
		out[i] = governance.Signer{Name: a.Name, Fingerprint: a.Fingerprint}
	}
	return out
}

func nonNilSigners(s []governance.Signer) []governance.Signer {
	if s == nil {
		return []governance.Signer{}
	}
	return s
}

func signerNames(s []governance.Signer) string {
	if len(s) == 0 {
		return "nobody"
	}
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x.Name
	}
	return out
}

// policyLoad is the Request of a POLICY chain row: which policy serve put
// in force, by its full manifest hash, and who signed it.
type policyLoad struct {
	OperatorAction   string              `json:"operator_action"` // "policy"
	PolicyVersion    string              `json:"policy_version"`
	ManifestSHA256   string              `json:"manifest_sha256"`
	Manifest         []governance.Item   `json:"manifest"`
	Signers          []governance.Signer `json:"signers"`
	Threshold        int                 `json:"threshold"`         // 0 without governance
	GovernanceSHA256 string              `json:"governance_sha256"` // "" without governance
}

// policyGate decides whether a loaded policy may be used and records it
// before it is: with governance, its bundle must hold a quorum of the
// governance in force (read from the store each time, so a change another
// replica adopted counts) over its manifest; with or without, a POLICY row
// naming the policy version, its manifest hash and its signers is
// committed to the decision log first. Any failure, a store error
// included, refuses the policy.
type policyGate struct {
	st     store.Store
	path   string // the policy file; its bundle is path.sigs
	govern bool   // governance configured

	mu     sync.Mutex
	cached *governance.Governance // the last governance in force parsed
}

// check is the gate (policy.Holder.SetGate).
func (g *policyGate) check(p *policy.Policy) error {
	_, err := g.admit(p)
	return err
}

// admit checks p and records its load, returning what it recorded.
func (g *policyGate) admit(p *policy.Policy) (*policyLoad, error) {
	m, err := governance.PolicyManifest(p)
	if err != nil {
		return nil, err
	}
	load := policyLoad{OperatorAction: "policy", PolicyVersion: p.Version(), ManifestSHA256: m.SHA256(),
		Manifest: m.Items, Signers: []governance.Signer{}}
	if g.govern {
		gov, err := g.inForce()
		if err != nil {
			return nil, err
		}
		sigs, err := governance.ReadBundle(governance.BundlePath(g.path))
		if err != nil {
			return nil, err
		}
		res, err := gov.Require(fmt.Sprintf("policy %s (version %s, manifest sha256 %s) is not signed by a quorum in %s",
			g.path, p.Version(), m.SHA256(), governance.BundlePath(g.path)), m.Text, sigs)
		if err != nil {
			return nil, err
		}
		load.Signers, load.Threshold, load.GovernanceSHA256 = res.Signers, gov.Threshold, gov.SHA256
	}
	req, err := json.Marshal(load)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(req)
	reason := "policy " + p.Version() + " put in force, unsigned (no governance configured)"
	if g.govern {
		reason = "policy " + p.Version() + " put in force, signed by " + signerNames(load.Signers)
	}
	rec := store.Record{
		// Derived from the content: replicas loading the same policy with
		// the same signatures record it once.
		RequestID: "operator:policy:" + hex.EncodeToString(sum[:16]),
		Version:   "operator", Type: "POLICY", NodeKey: "operator:serve", ReceivedAt: time.Now(),
		Request: req, Action: store.ActionReject, Rule: rulePolicy, Reason: reason, PolicyVersion: p.Version(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), governTimeout)
	defer cancel()
	if _, _, err := g.st.Commit(ctx, rec, nil); err != nil {
		return nil, fmt.Errorf("recording the policy load in the decision log (the policy is not used): %w", err)
	}
	return &load, nil
}

// inForce reads the governance in force from the store, parsing it again
// only when it changed.
func (g *policyGate) inForce() (*governance.Governance, error) {
	ctx, cancel := context.WithTimeout(context.Background(), governTimeout)
	defer cancel()
	cur, err := g.st.Governance(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the governance in force: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cached != nil && g.cached.SHA256 == cur.SHA256 {
		return g.cached, nil
	}
	gov, err := governance.InForce(ctx, staticGovernance{cur})
	if err != nil {
		return nil, err
	}
	g.cached = gov
	return gov, nil
}

// staticGovernance serves one GovernanceState already read.
type staticGovernance struct{ g *store.GovernanceState }

func (s staticGovernance) Governance(context.Context) (*store.GovernanceState, error) {
	return s.g, nil
}

// readGovernanceFile is serve's early check of the governance file, before
// anything is created.
func readGovernanceFile(cfg Config) (*governance.Governance, error) {
	if cfg.Governance == "" {
		return nil, nil
	}
	if _, err := os.Stat(cfg.Governance); err != nil {
		return nil, cfg.origin("governance").errorf("governance", "%v", err)
	}
	g, err := governance.Load(cfg.Governance)
	if err != nil {
		return nil, fmt.Errorf("governance (from %s): %w", cfg.origin("governance"), err)
	}
	return g, nil
}
