package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"tssgate/internal/store/storetest"
	"tssgate/internal/token"
)

// approver is a key pair made by the real ssh-keygen.
type approver struct {
	name, priv, pub string
}

func sshKeygenBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen is not installed (apt-get install openssh-client; CI installs it)")
	}
	return bin
}

func newApprover(t *testing.T, name string) approver {
	t.Helper()
	priv := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command(sshKeygenBin(t), "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", priv).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(priv + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return approver{name: name, priv: priv, pub: strings.TrimSpace(string(pub))}
}

func writeGovernance(t *testing.T, path string, threshold string, as ...approver) {
	t.Helper()
	writeDeploymentGovernance(t, path, "", threshold, as...)
}

// writeDeploymentGovernance is writeGovernance with a deployment line
// when deployment is not "".
func writeDeploymentGovernance(t *testing.T, path, deployment, threshold string, as ...approver) {
	t.Helper()
	var b strings.Builder
	if deployment != "" {
		b.WriteString("deployment: " + deployment + "\n")
	}
	b.WriteString("threshold: " + threshold + "\napprovers:\n")
	for _, a := range as {
		b.WriteString("  - {name: " + a.name + ", key: \"" + a.pub + "\"}\n")
	}
	writeAtomically(t, path, b.String())
}

// govPolicy is a policy with a list file, so that the manifest has two
// items, at serial 1 (a governed policy needs one; see withSerial).
const govPolicy = `version: 1
serial: 1
default: reject
lists:
  nodes: {file: nodes.txt}
rules:
  - name: heartbeat
    when: request.type == "PING"
    action: approve
  - name: small-eth
    when: request.type == "KEYSIGN" && tx.token_id == "ETH" && tx.amount <= decimal("1")
    action: approve
`

// withSerial is policy with its serial line set to n.
func withSerial(policy string, n int) string {
	if !strings.Contains(policy, "\nserial: 1\n") {
		panic("withSerial: the policy has no serial: 1 line")
	}
	return strings.Replace(policy, "\nserial: 1\n", "\nserial: "+strconv.Itoa(n)+"\n", 1)
}

func hexSum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// sshSignFile signs file with ssh-keygen -Y sign, writing file.sig.
func sshSignFile(t *testing.T, a approver, file string) string {
	t.Helper()
	if out, err := exec.Command(sshKeygenBin(t), "-Y", "sign", "-f", a.priv, "-n", "tssgate-policy", file).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y sign: %v\n%s", err, out)
	}
	return file + ".sig"
}

func TestPolicySigningCommands(t *testing.T) {
	alice, bob, mallory := newApprover(t, "alice"), newApprover(t, "bob"), newApprover(t, "mallory")
	dir := t.TempDir()
	gov, pol := filepath.Join(dir, "governance.yaml"), filepath.Join(dir, "POLICY.yaml")
	writeGovernance(t, gov, "2", alice, bob)
	writeAtomically(t, pol, govPolicy)
	writeAtomically(t, filepath.Join(dir, "nodes.txt"), "node-1\n")

	code, manifest, errOut := runCmd(t, "policy", "manifest", pol)
	want := "tssgate-manifest v1\npolicy " + hexSum(govPolicy) + " POLICY.yaml\nlist " + hexSum("node-1\n") + " nodes.txt\n"
	if code != 0 || manifest != want {
		t.Fatalf("policy manifest: exit %d\n%s%s\nwant:\n%s", code, manifest, errOut, want)
	}
	verify := func() (int, string) {
		code, out, _ := runCmd(t, "policy", "verify", "--governance", gov, pol)
		return code, out
	}
	if code, out := verify(); code != 1 || !strings.Contains(out, "0 of 2") {
		t.Fatalf("verify with no bundle: exit %d\n%s", code, out)
	}
	if code, out, errOut := runCmd(t, "policy", "sign", "--governance", gov, "--key", alice.priv, pol); code != 0 || !strings.Contains(out, "alice") {
		t.Fatalf("sign --key alice: exit %d %s%s", code, out, errOut)
	}
	if code, out := verify(); code != 1 || !strings.Contains(out, "signed by alice") || !strings.Contains(out, "threshold NOT met: 1 of 2") {
		t.Fatalf("verify with M-1: exit %d\n%s", code, out)
	}
	// Bob signs with ssh-keygen elsewhere; the signature is imported.
	m := filepath.Join(t.TempDir(), "m")
	writeAtomically(t, m, manifest)
	bobSig := sshSignFile(t, bob, m)
	if code, out, errOut := runCmd(t, "policy", "sign", "--governance", gov, "--import", bobSig, pol); code != 0 || !strings.Contains(out, "bob") {
		t.Fatalf("sign --import (bob): exit %d %s%s", code, out, errOut)
	}
	if code, out := verify(); code != 0 || !strings.Contains(out, "signed by alice") || !strings.Contains(out, "signed by bob") || !strings.Contains(out, "threshold met: 2 of 2") {
		t.Fatalf("verify with M: exit %d\n%s", code, out)
	}
	m2 := filepath.Join(t.TempDir(), "m")
	writeAtomically(t, m2, manifest)
	mallorySig := sshSignFile(t, mallory, m2)
	refusals := []struct {
		name string
		args []string
		want string
	}{
		{"import from a non-approver", []string{"--governance", gov, "--import", mallorySig}, "not an approver's"},
		{"key of a non-approver", []string{"--governance", gov, "--key", mallory.priv}, "not an approver's"},
		{"import without governance", []string{"--import", bobSig}, "needs the governance file"},
		{"both key and import", []string{"--governance", gov, "--key", alice.priv, "--import", bobSig}, "exactly one of"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, append(append([]string{"policy", "sign"}, tt.args...), pol)...)
			if code == 0 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q, want %q", code, errOut, tt.want)
			}
		})
	}
	// A changed list file: the manifest changes, every signature stops
	// counting, and an import of a signature over the old one is refused.
	writeAtomically(t, filepath.Join(dir, "nodes.txt"), "node-1\nnode-2\n")
	if code, out := verify(); code != 1 || !strings.Contains(out, "0 of 2") || strings.Count(out, "NOT COUNTED") != 2 {
		t.Fatalf("verify after the list changed: exit %d\n%s", code, out)
	}
	if code, _, errOut := runCmd(t, "policy", "sign", "--governance", gov, "--import", bobSig, pol); code != 1 || !strings.Contains(errOut, "not valid for the current manifest") {
		t.Fatalf("import of a stale signature: exit %d %s", code, errOut)
	}
}

// governedServe is a data directory with a signed policy and a governance
// file of three approvers, threshold 2.
type governedServe struct {
	dir, gov, pol, list string
	alice, bob, carol   approver
	store               string // --store, "" for SQLite in dir
}

func newGovernedServe(t *testing.T, dsn string) *governedServe {
	t.Helper()
	g := &governedServe{dir: t.TempDir(), alice: newApprover(t, "alice"), bob: newApprover(t, "bob"), carol: newApprover(t, "carol"), store: dsn}
	g.gov, g.pol, g.list = filepath.Join(g.dir, "governance.yaml"), filepath.Join(g.dir, "POLICY.yaml"), filepath.Join(g.dir, "nodes.txt")
	writeGovernance(t, g.gov, "2", g.alice, g.bob, g.carol)
	writeAtomically(t, g.pol, govPolicy)
	writeAtomically(t, g.list, "node-1\n")
	return g
}

func (g *governedServe) args(extra ...string) []string {
	a := []string{"--listen", "127.0.0.1:0", "--dev", "--data-dir", g.dir, "--policy", g.pol, "--governance", g.gov, "--policy-poll", "20ms"}
	if g.store != "" {
		a = append(a, "--store", g.store)
	}
	return append(a, extra...)
}

// firstStart signs the policy by alice and bob and starts serve once,
// so that the store adopts the governance (trust on first use); the test
// fails if serve does not start.
func (g *governedServe) firstStart(t *testing.T) {
	t.Helper()
	g.sign(t, g.pol, g.alice, g.bob)
	if started, out, errOut := serveStarts(t, g.args()...); !started {
		t.Fatalf("first start: %s%s", out, errOut)
	}
}

func (g *governedServe) sign(t *testing.T, target string, as ...approver) {
	t.Helper()
	kind := "policy"
	if strings.HasPrefix(filepath.Base(target), "governance") {
		kind = "governance"
	}
	for _, a := range as {
		if code, out, errOut := runCmd(t, kind, "sign", "--governance", g.gov, "--key", a.priv, target); code != 0 {
			t.Fatalf("%s sign by %s: exit %d %s%s", kind, a.name, code, out, errOut)
		}
	}
}

func TestServeGovernanceSQLite(t *testing.T) { testServeGovernance(t, "") }

func TestServeGovernancePostgres(t *testing.T) {
	testServeGovernance(t, storetest.PostgresSchema(t)) // skips without TSSGATE_TEST_POSTGRES
}

// testServeGovernance: M-1 signatures and serve refuses to start; M and
// it serves; a changed list file (unsigned) keeps the old policy with
// /readyz 503; signing it again loads it; audit show names the signers.
func testServeGovernance(t *testing.T, dsn string) {
	g := newGovernedServe(t, dsn)
	g.sign(t, g.pol, g.alice)
	started, _, errOut := serveStarts(t, g.args()...)
	if started || !strings.Contains(errOut, "1 of 2 required approver signatures") || !strings.Contains(errOut, "signed: alice") {
		t.Fatalf("serve with M-1 signatures: started %v, stderr:\n%s", started, errOut)
	}
	g.sign(t, g.pol, g.bob)
	url, stdout, logs := startServeLogs(t, g.args("--metrics-listen", "127.0.0.1:0")[2:]...)
	if !strings.Contains(stdout.String(), "signed by alice, bob (2 of 2 required)") {
		t.Fatalf("start-up does not name the signers:\n%s", stdout.String())
	}
	mm := metricsRE.FindStringSubmatch(stdout.String())
	if mm == nil {
		t.Fatalf("no metrics address on stdout:\n%s", stdout.String())
	}
	failures := series("tssgate_reloads_total", "subject", "policy", "result", "failure")
	before := scrape(t, mm[1])
	sim := func(typ, id string) int {
		code, _, _ := runCmd(t, "simulate", "--url", url, "--type", typ, "--request-id", id,
			"--node-key", filepath.Join(g.dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(g.dir, token.PublicKeyFile))
		return code
	}
	if sim("keysign", "k1") != 0 {
		t.Fatal("KEYSIGN under the signed policy was not approved")
	}
	if readyz(t, url) != http.StatusOK {
		t.Fatal("not ready with a signed policy")
	}
	// A stricter policy, unsigned: refused like a looser one; the signed
	// policy keeps deciding.
	writeAtomically(t, g.pol, withSerial(strings.Replace(govPolicy, `decimal("1")`, `decimal("0.00001")`, 1), 2))
	waitFor(t, "/readyz 503 for the unsigned policy", func() bool { return readyz(t, url) == http.StatusServiceUnavailable })
	if code, body := readyzBody(t, url); code != http.StatusServiceUnavailable || !strings.Contains(body, "not signed by a quorum") {
		t.Fatalf("readyz: %d %s", code, body)
	}
	// The holder records the error (which /readyz reads) before the watch
	// logs it: wait for the line rather than race it.
	waitFor(t, "the refusal logged", func() bool { return strings.Contains(logs.String(), "not enough approver signatures") })
	if d := delta(t, before, scrape(t, mm[1]), failures); d < 1 {
		t.Fatalf("the refusal is not counted: %s moved by %v", failures, d)
	}
	if sim("keysign", "k2") != 0 {
		t.Fatal("the old, signed policy stopped deciding after an unsigned change")
	}
	g.sign(t, g.pol, g.carol, g.alice)
	waitFor(t, "the newly signed policy", func() bool { return readyz(t, url) == http.StatusOK })
	if sim("keysign", "k3") != 1 {
		t.Fatal("the stricter policy, once signed, did not take over")
	}

	// audit show names the signers of each decision's policy.
	show := func(id string) []string {
		args := []string{"audit", "show", "--data-dir", g.dir}
		if dsn != "" {
			args = append(args, "--store", dsn)
		}
		code, out, errOut := runCmd(t, append(args, id)...)
		var r struct {
			PolicyLoad struct {
				Signers []struct{ Name, Fingerprint string } `json:"signers"`
				Gov     string                               `json:"governance_sha256"`
			} `json:"policy_load"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("audit show %s: exit %d %s%s", id, code, out, errOut)
		}
		if r.PolicyLoad.Gov != hexSum(mustRead(t, g.gov)) {
			t.Fatalf("audit show %s: governance sha256 %q", id, r.PolicyLoad.Gov)
		}
		var names []string
		for _, s := range r.PolicyLoad.Signers {
			if !strings.HasPrefix(s.Fingerprint, "SHA256:") {
				t.Fatalf("signer without fingerprint: %+v", s)
			}
			names = append(names, s.Name)
		}
		return names
	}
	if got := strings.Join(show("k1"), ","); got != "alice,bob" {
		t.Fatalf("signers of k1's policy: %q, want alice,bob", got)
	}
	if got := strings.Join(show("k3"), ","); got != "carol,alice" {
		t.Fatalf("signers of k3's policy: %q, want carol,alice", got)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGovernanceChangeSQLite(t *testing.T) { testGovernanceChange(t, "") }

func TestGovernanceChangePostgres(t *testing.T) {
	testGovernanceChange(t, storetest.PostgresSchema(t))
}

// testGovernanceChange: the first governance is adopted on first use; a
// new file with too few signatures of the governance in force is refused,
// again after a restart; with enough it is adopted, and policies then
// need its quorum.
func testGovernanceChange(t *testing.T, dsn string) {
	g := newGovernedServe(t, dsn)
	g.sign(t, g.pol, g.alice, g.bob)
	started, stdout, errOut := serveStarts(t, g.args()...)
	if !started || !strings.Contains(stdout, "adopted on first use") {
		t.Fatalf("first start: started %v\n%s%s", started, stdout, errOut)
	}
	// An intruder swaps in a governance of their own key, threshold 1.
	mallory := newApprover(t, "mallory")
	old := mustRead(t, g.gov)
	writeGovernance(t, g.gov, "1", mallory)
	for range 2 { // refused, and still refused at the next start
		started, _, errOut = serveStarts(t, g.args()...)
		if started || !strings.Contains(errOut, "differs from the governance in force") || !strings.Contains(errOut, "0 of 2") {
			t.Fatalf("serve with an unsigned governance change: started %v\n%s", started, errOut)
		}
	}
	// A proposal signed by one approver of the governance in force: still
	// refused. The change is signed against the old file (CURRENT).
	cur := filepath.Join(t.TempDir(), "current.yaml")
	writeAtomically(t, cur, old)
	dave := newApprover(t, "dave")
	writeGovernance(t, g.gov, "2", g.alice, g.bob, dave)
	appendGovernanceSerial(t, g.gov, 1) // a change needs a serial above the one in force (none)
	signGov := func(a approver) {
		if code, out, errOut := runCmd(t, "governance", "sign", "--governance", cur, "--key", a.priv, g.gov); code != 0 {
			t.Fatalf("governance sign by %s: %d %s%s", a.name, code, out, errOut)
		}
	}
	signGov(g.alice)
	if code, _, _ := runCmd(t, "governance", "sign", "--governance", cur, "--key", mallory.priv, g.gov); code == 0 {
		t.Fatal("governance sign accepted a key that is not in the governance in force")
	}
	started, _, errOut = serveStarts(t, g.args()...)
	if started || !strings.Contains(errOut, "1 of 2") {
		t.Fatalf("serve with M-1 signatures on the governance change: started %v\n%s", started, errOut)
	}
	if code, out, _ := runCmd(t, "governance", "verify", "--governance", cur, g.gov); code != 1 || !strings.Contains(out, "signed by alice") {
		t.Fatalf("governance verify with M-1: %d %s", code, out)
	}
	signGov(g.carol)
	// Adopted: the policy's signatures (alice, bob) still meet the new
	// threshold of 2.
	started, stdout, errOut = serveStarts(t, g.args()...)
	if !started || !strings.Contains(stdout, "governance change") || !strings.Contains(stdout, "signed by alice, carol") {
		t.Fatalf("serve with the quorum on the governance change: started %v\n%s%s", started, stdout, errOut)
	}
	// The governance in force is now the new file: a policy signed by
	// carol (no longer an approver) and dave counts only dave.
	writeAtomically(t, g.list, "node-1\nnode-3\n")
	g.sign(t, g.pol, dave)
	if code, _, errOut := runCmd(t, "policy", "sign", "--governance", g.gov, "--key", g.carol.priv, g.pol); code == 0 {
		t.Fatalf("a former approver could still sign: %s", errOut)
	}
	started, _, errOut = serveStarts(t, g.args()...)
	if started || !strings.Contains(errOut, "1 of 2") {
		t.Fatalf("policy with one signature under the new governance: started %v\n%s", started, errOut)
	}
}

// Once a governance is in force, removing tssgate.governance from the
// configuration does not turn it off: serve refuses to start. A broken
// governance file is refused before anything is created, naming file,
// line and field.
func TestServeGovernanceCannotBeTurnedOff(t *testing.T) {
	g := newGovernedServe(t, "")
	g.firstStart(t)
	noGov := []string{"--listen", "127.0.0.1:0", "--dev", "--data-dir", g.dir, "--policy", g.pol}
	started, _, errOut := serveStarts(t, noGov...)
	if started || !strings.Contains(errOut, "governance cannot be turned off by configuration") {
		t.Fatalf("serve without the governance file on a governed store: started %v\n%s", started, errOut)
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "governance.yaml")
	writeAtomically(t, bad, "threshold: 3\napprovers:\n  - {name: alice, key: \""+g.alice.pub+"\"}\n")
	data := filepath.Join(dir, "data")
	started, _, errOut = serveStarts(t, "--listen", "127.0.0.1:0", "--dev", "--data-dir", data, "--governance", bad)
	if started || !strings.Contains(errOut, "governance.yaml:1: threshold: must be between 1 and the number of approvers (1), got 3") {
		t.Fatalf("serve with a broken governance file: started %v\n%s", started, errOut)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("a refused governance file left a data folder behind: %v", err)
	}
}

// TestGovernedUnfreeze: with a governance in force, lifting a freeze needs
// the threshold of approvers' signatures over "unfreeze ID" (one made with
// tssgate, one with ssh-keygen over echo's line); a configuration without
// the governance setting does not make the lift plain; a signature for
// another freeze counts for nothing.
func TestGovernedUnfreeze(t *testing.T) {
	g := newGovernedServe(t, "")
	g.sign(t, g.pol, g.alice, g.bob)
	// A start adopts the governance (trust on first use).
	url, _, _ := startServeLogs(t, g.args()[2:]...)
	if readyz(t, url) != http.StatusOK {
		t.Fatal("not ready")
	}
	freeze := func() string {
		code, out, errOut := runCmd(t, "freeze", "--data-dir", g.dir, "--reason", "incident drill")
		if code != 0 {
			t.Fatalf("freeze: exit %d %s%s", code, out, errOut)
		}
		return strings.TrimSpace(out)
	}
	id, other := freeze(), freeze()
	unfreeze := func(extra ...string) (int, string) {
		code, out, errOut := runCmd(t, append([]string{"unfreeze", "--data-dir", g.dir, "--id", id}, extra...)...)
		return code, out + errOut
	}
	// No governance setting: the store's governance still applies.
	if code, out := unfreeze(); code == 0 || !strings.Contains(out, "do not meet the governance threshold") {
		t.Fatalf("a plain unfreeze under governance: exit %d %s", code, out)
	}
	if code, out := unfreeze("--key", g.alice.priv); code == 0 || !strings.Contains(out, "recorded alice's signature") {
		t.Fatalf("unfreeze with one of two signatures: exit %d %s", code, out)
	}
	// bob signs the other freeze's message: refused, not kept.
	m := filepath.Join(t.TempDir(), "m")
	writeAtomically(t, m, "unfreeze "+other+"\n")
	if code, out := unfreeze("--import", sshSignFile(t, g.bob, m)); code == 0 || !strings.Contains(out, "nothing recorded") {
		t.Fatalf("a signature for another freeze: exit %d %s", code, out)
	}
	// alice again counts once.
	if code, out := unfreeze("--key", g.alice.priv); code == 0 {
		t.Fatalf("alice twice lifted the freeze: %s", out)
	}
	m = filepath.Join(t.TempDir(), "m")
	writeAtomically(t, m, "unfreeze "+id+"\n")
	if code, out := unfreeze("--import", sshSignFile(t, g.bob, m)); code != 0 || !strings.Contains(out, "lifted freeze "+id+" with the signatures of alice, bob") {
		t.Fatalf("unfreeze with two signatures: exit %d %s", code, out)
	}
	code, out, errOut := runCmd(t, "freeze", "--data-dir", g.dir, "--list")
	if code != 0 || strings.Contains(out, id) || !strings.Contains(out, other) {
		t.Fatalf("freeze --list after the lift: exit %d %s%s", code, out, errOut)
	}
}
