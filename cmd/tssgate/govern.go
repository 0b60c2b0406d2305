package main

import (
	"bytes"
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
// quorum of the governance in force over its manifest and its serial is
// greater than the serial of the one in force (the first adoption takes
// any serial or none); otherwise serve refuses to start, at every start,
// since the store still holds the old one. Each adoption is a chain row,
// committed with it, recording the serial.
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
			m, err := governance.ChangeManifest(file, inForce)
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
			// The serial makes a change's signatures good for one step:
			// after G0 -> G1 -> G0', putting G1 back with its old bundle
			// is refused because its serial is not above G0's.
			if file.Serial <= inForce.Serial {
				what := fmt.Sprintf("serial %d", file.Serial)
				if file.Serial == 0 {
					what = "no serial"
				}
				return nil, fmt.Errorf("governance file %s (sha256 %s) differs from the governance in force (sha256 %s, serial %d, adopted at decision %d) but has %s: a governance change needs a top-level `serial: N` greater than the serial in force (%d), so that the signatures of an earlier change cannot put a replaced governance back; refused (the governance in force stays)",
					path, file.SHA256, cur.SHA256, inForce.Serial, cur.Seq, what, inForce.Serial)
			}
			prev = cur.SHA256
		}
		req, _ := json.Marshal(map[string]any{
			"operator_action":   "governance",
			"governance_file":   path,
			"governance_sha256": file.SHA256,
			"previous_sha256":   prev,
			"serial":            file.Serial,
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
	Serial           uint64              `json:"serial"` // the policy's serial, 0 when it has none
	ManifestSHA256   string              `json:"manifest_sha256"`
	Deployment       string              `json:"deployment,omitempty"` // the manifest's deployment line
	Manifest         []governance.Item   `json:"manifest"`
	Signers          []governance.Signer `json:"signers"`
	Threshold        int                 `json:"threshold"`         // 0 without governance
	GovernanceSHA256 string              `json:"governance_sha256"` // "" without governance
}

// policyGate decides whether a loaded policy may be used and records it
// before it is. It reads the governance in force from the store at every
// load, governed or not: on a replica started without governance, a
// governance another replica adopted since refuses every later policy
// (an unsigned policy must not be hot-reloaded past a quorum; the old
// policy stays, and supersedeGuard stops its approvals too). With
// governance, the bundle must hold a quorum of the governance in force
// (so a change another replica adopted counts) over the manifest (which
// carries the governance's deployment line), and the serial must not roll
// back what the governed POLICY rows of the decision log recorded; with
// or without, a POLICY row naming the policy version, its serial, its
// manifest hash and its signers is committed to the decision log first.
// Any failure, a store error included, refuses the policy.
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

// recordedLoads is what the POLICY rows of the decision log say, as
// admit needs it: the newest row (its request id and content), and the
// highest serial recorded with the manifest of the newest row carrying it.
type recordedLoads struct {
	newestID      string      // "" when there is no POLICY row
	newest        *policyLoad // the newest row's content
	maxSerial     uint64
	maxSerialSeq  int64
	maxSerialHash string // manifest_sha256 of the newest row with maxSerial
}

// readLoads walks the POLICY rows, newest first. They are one per load of
// a different policy or bundle, so few. A row that does not parse refuses
// the policy: the rollback check cannot be made without it. Only governed
// rows (a governance_sha256) count for the serial: an ungoverned load's
// serial was signed by nobody, so it must neither raise the bar for the
// quorum's policies nor be one.
func readLoads(ctx context.Context, st store.Store) (*recordedLoads, error) {
	r := &recordedLoads{}
	err := st.List(ctx, store.Filter{Type: "POLICY", Rule: rulePolicy, Newest: true}, func(rec *store.Record) error {
		var l policyLoad
		if err := json.Unmarshal(rec.Request, &l); err != nil {
			return fmt.Errorf("POLICY row %d (%s) does not parse: %w", rec.Seq, rec.RequestID, err)
		}
		if r.newestID == "" {
			r.newestID, r.newest = rec.RequestID, &l
		}
		if l.GovernanceSHA256 != "" && l.Serial > r.maxSerial {
			r.maxSerial, r.maxSerialSeq, r.maxSerialHash = l.Serial, rec.Seq, l.ManifestSHA256
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the policy loads recorded in the decision log: %w", err)
	}
	return r, nil
}

// admit checks p and records its load, returning what it recorded.
func (g *policyGate) admit(p *policy.Policy) (*policyLoad, error) {
	gov, err := g.inForce()
	switch {
	case err != nil:
		return nil, err
	case gov != nil && !g.govern:
		return nil, fmt.Errorf("the decision store has a governance in force (sha256 %s, adopted after this server started without governance), so policy %s needs its quorum: restart this server with tssgate.governance (--governance) set to that file", gov.SHA256, g.path)
	case gov == nil && g.govern:
		return nil, fmt.Errorf("governance is configured but the decision store holds no governance in force (one was in force at start): the store was changed under this server; policy %s is not used", g.path)
	}
	m, err := governance.PolicyManifest(p, gov)
	if err != nil {
		return nil, err
	}
	load := policyLoad{OperatorAction: "policy", PolicyVersion: p.Version(), Serial: p.Serial(), ManifestSHA256: m.SHA256(),
		Deployment: m.Deployment, Manifest: m.Items, Signers: []governance.Signer{}}
	ctx, cancel := context.WithTimeout(context.Background(), governTimeout)
	defer cancel()
	if gov != nil {
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
	loads, err := readLoads(ctx, g.st)
	if err != nil {
		return nil, err
	}
	if gov != nil {
		if err := checkSerial(g.path, p, m, loads); err != nil {
			return nil, err
		}
	}
	req, err := json.Marshal(load)
	if err != nil {
		return nil, err
	}
	if loads.newest != nil {
		// The same policy with the same signers is the newest load on
		// record already (a restart, a replica starting): nothing new to
		// record. Compared as re-encoded values, since a store may keep
		// JSON in another spelling.
		if again, err := json.Marshal(loads.newest); err == nil && bytes.Equal(again, req) {
			return &load, nil
		}
	}
	// Derived from the content and the newest POLICY row: replicas loading
	// the same policy with the same signatures at the same time record it
	// once, and loading a bundle again after another one was loaded is a
	// new row, so that audit show names the signers actually in force.
	h := sha256.New()
	h.Write(req)
	h.Write([]byte{0})
	h.Write([]byte(loads.newestID))
	sum := h.Sum(nil)
	reason := "policy " + p.Version() + " put in force, unsigned (no governance configured)"
	if gov != nil {
		reason = fmt.Sprintf("policy %s (serial %d) put in force, signed by %s", p.Version(), p.Serial(), signerNames(load.Signers))
	}
	rec := store.Record{
		RequestID: "operator:policy:" + hex.EncodeToString(sum[:16]),
		Version:   "operator", Type: "POLICY", NodeKey: "operator:serve", ReceivedAt: time.Now(),
		Request: req, Action: store.ActionReject, Rule: rulePolicy, Reason: reason, PolicyVersion: p.Version(),
	}
	if _, _, err := g.st.Commit(ctx, rec, nil); err != nil {
		return nil, fmt.Errorf("recording the policy load in the decision log (the policy is not used): %w", err)
	}
	return &load, nil
}

// checkSerial refuses a governed policy without a serial, with a serial
// below the highest the decision log recorded, or with that serial and
// another manifest: an old policy put back with its old, once valid
// bundle is a rollback nobody signed. The same serial with the same
// manifest (a restart, another replica) passes.
func checkSerial(path string, p *policy.Policy, m *governance.Manifest, loads *recordedLoads) error {
	switch {
	case p.Serial() == 0:
		return fmt.Errorf("policy %s has no serial: with governance a policy must carry a top-level `serial: N` (a positive integer, raised with every change) so that an older signed policy cannot be put back; add it and sign again", path)
	case p.Serial() < loads.maxSerial:
		return fmt.Errorf("policy %s has serial %d, lower than serial %d already put in force (decision %d): refused as a rollback to an older policy; to go back, give the old rules a serial above %d and have them signed again", path, p.Serial(), loads.maxSerial, loads.maxSerialSeq, loads.maxSerial)
	case p.Serial() == loads.maxSerial && m.SHA256() != loads.maxSerialHash:
		return fmt.Errorf("policy %s has serial %d, the serial of another policy already put in force (decision %d, manifest sha256 %s; this one %s): refused; a changed policy needs a higher serial, signed again", path, p.Serial(), loads.maxSerialSeq, loads.maxSerialHash, m.SHA256())
	}
	return nil
}

// inForce reads the governance in force from the store, parsing it again
// only when it changed; nil, nil when the store has none.
func (g *policyGate) inForce() (*governance.Governance, error) {
	ctx, cancel := context.WithTimeout(context.Background(), governTimeout)
	defer cancel()
	cur, err := g.st.Governance(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
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
