// Package governance owns tssgate's M-of-N control over what policy runs:
// the governance file (a threshold and the approvers' OpenSSH Ed25519
// public keys), the manifest that approvers sign (the full SHA-256 of the
// policy file and of every list file it names, or of a governance file),
// OpenSSH signatures in the SSHSIG format (PROTOCOL.sshsig, namespace
// "tssgate-policy"), written and verified here, the signature bundle
// (POLICY.yaml.sigs), and the quorum check.
//
// Threat model: whoever can write the policy directory must not be able to
// change what gets signed on their own. A policy loads only when at least
// Threshold distinct approvers signed its exact manifest; a changed list
// file changes the manifest and so invalidates every signature. The
// governance in force is kept in the decision store (trust on first use),
// so replacing the governance file with one naming the intruder's keys
// needs a quorum of the approvers in force as well, over a manifest naming
// the governance it replaces (so signatures for an earlier change cannot
// be replayed), and a serial above the one in force (so a governance put
// back byte for byte, G0 -> G1 -> G0, does not revive G1's signatures;
// serve enforces it). Signatures that do not verify, come from keys no approver
// holds, or repeat an approver are reported and never counted. Keys that
// are small-order points (for which anyone can forge a signature) or
// non-canonical encodings (two spellings of one key would be two
// approvers) are refused when a governance file or a signature is parsed.
// Governance files, bundles, keys and imported signatures are read only
// when they are regular files (ReadRegularFile): a named pipe in their
// place is refused, never waited on.
//
// Formats (the README's "Changing the policy" chapter documents them for
// operators):
//
// Governance file: a YAML mapping of threshold (1 to the number of
// approvers), approvers (a list of {name, key}: a name of 1 to 64 of
// [A-Za-z0-9._@-], an OpenSSH ssh-ed25519 public key line whose point is
// canonical and not of small order), an optional deployment (1 to 64 of
// [A-Za-z0-9._-]; deployments governed by the same approvers must each set
// their own, so that a signature for one never counts for another) and an
// optional serial (a positive decimal integer of at most 15 digits).
//
// Manifest: UTF-8 text, one line per item, each line ending in "\n":
//
//	tssgate-manifest v1
//	deployment <name>                 only when the governance names one
//	policy <64 lower-case hex SHA-256> <policy file name>
//	list <64 lower-case hex SHA-256> <list file path as written in the policy>
//
// The first line is the kind and version. The deployment line is that of
// the governance in force when serve checks the manifest. The policy line
// comes next, then one list line per list file in the order the policy
// names them. A name is the rest of the line; it must be display-safe
// (DisplaySafeName: printable ASCII, no leading or trailing space), since
// approvers read it before they sign. The policy file itself carries its
// serial (policy.Summary.Serial), so the policy line's hash covers it.
//
// A governance change's manifest names the governance it replaces:
//
//	tssgate-manifest v1
//	deployment <name>                 the governance in force's, when set
//	replaces <SHA-256 of the governance in force>
//	governance <SHA-256 of the new file> <new file name>
//
// so that signatures made for one change (G0 -> G1) cannot be replayed
// for another (G2 -> G1).
//
// Signature: the armored SSHSIG text ssh-keygen -Y sign writes
// ("-----BEGIN SSH SIGNATURE-----", base64 in lines of 70 columns,
// "-----END SSH SIGNATURE-----"), over the manifest bytes, namespace
// "tssgate-policy", hash sha512 (sha256 is accepted when verifying).
//
// Bundle: a text file holding any number of armored signatures one after
// the other. Lines outside a signature must be blank or comments starting
// with '#' (sign writes one comment naming the signer before each
// signature); anything else is an error naming the line.
package governance
