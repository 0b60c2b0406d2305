#!/usr/bin/env python3
"""Writes the BTC KEYSIGN fixtures of examples/btc-payouts.tests.yaml.

An encoder independent of tssgate: unsigned transactions, BIP-143 (P2WPKH)
and legacy SIGHASH_ALL digests written from the BIPs, for a wallet whose key
hash is hash160(02 11*32). Run from examples/requests: python3 gen-btc-requests.py
"""
import hashlib, json

def dsha(b): return hashlib.sha256(hashlib.sha256(b).digest()).digest()
def le(v, n): return v.to_bytes(n, 'little')
def vs(b): assert len(b) < 0xfd; return bytes([len(b)]) + b
def h160(b): return hashlib.new('ripemd160', hashlib.sha256(b).digest()).digest()

PKH = h160(bytes.fromhex('02' + '11' * 32))
WALLET = {'p2wpkh': ('bc1q4h7w2n6jnvs4fc7rvxa78a75rkcxx4cha6sptp', b'\x00\x14' + PKH),
          'p2pkh': ('1Grxrh4z458DEdd3VVS6D5ASSyt8ydPaLe', b'\x76\xa9\x14' + PKH + b'\x88\xac')}
PAYEES = {  # address -> scriptPubKey
    'bc1qr40x58kamukttxmmhspp3cpuxpw7dsg5sk325rfm4lr5v66t3c7q8pdz3g': b'\x00\x20' + hashlib.sha256(b'dest').digest(),
    '16PMWqJ75ULz35k5Ceb3r87JPujKGWYRt3': b'\x76\xa9\x14' + h160(bytes.fromhex('02' + '55' * 32)) + b'\x88\xac',
    'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4': bytes.fromhex('0014751e76e8199196d454941c45d1b3a323f1433bd6'),
}

def coins(s):
    t = f"{s // 10**8}.{s % 10**8:08d}".rstrip('0').rstrip('.')
    return t

def build(name, kind, in_sats, pays, change_sats, seed=None):
    addr, spk = WALLET[kind]
    txid = hashlib.sha256((seed or name).encode()).digest()  # serialized order
    outs = [(s, PAYEES[a]) for a, s in pays] + [(change_sats, spk)]
    def ser(script_for_input=None):
        b = le(2, 4) + b'\x01' + txid + le(0, 4)
        b += vs(script_for_input if script_for_input is not None else b'') + le(0xfffffffd, 4)
        b += bytes([len(outs)]) + b''.join(le(v, 8) + vs(s) for v, s in outs)
        return b + le(0, 4)
    if kind == 'p2wpkh':
        code = b'\x76\xa9\x14' + PKH + b'\x88\xac'
        outsb = b''.join(le(v, 8) + vs(s) for v, s in outs)
        pre = (le(2, 4) + dsha(txid + le(0, 4)) + dsha(le(0xfffffffd, 4)) + txid + le(0, 4) + vs(code)
               + le(in_sats, 8) + le(0xfffffffd, 4) + dsha(outsb) + le(0, 4) + le(1, 4))
        digest = dsha(pre)
    else:
        digest = dsha(ser(spk) + le(1, 4))
    tx_display = txid[::-1].hex()
    extra = {
        "wallet": {"wallet_id": "7a1c0e52-3f4b-4c6d-8e9f-0a1b2c3d4e5f", "wallet_type": "MPC", "wallet_subtype": "Org-Controlled", "name": "BTC Payouts"},
        "transaction": {
            "transaction_id": "btc-" + name, "request_id": "payout-" + name,
            "wallet_id": "7a1c0e52-3f4b-4c6d-8e9f-0a1b2c3d4e5f", "type": "Withdrawal", "status": "PendingSignature",
            "chain_id": "BTC", "token_id": "BTC", "initiator": "payouts-service", "initiator_type": "API",
            "source": {"source_type": "Org-Controlled", "wallet_id": "7a1c0e52-3f4b-4c6d-8e9f-0a1b2c3d4e5f"},
            "destination": {"destination_type": "Address", "account_output": None,
                            "utxo_outputs": [{"address": a, "amount": coins(s), "script": None} for a, s in pays]},
            "fee": {"fee_type": "UTXO", "token_id": "BTC", "fee_used": coins(in_sats - change_sats - sum(s for _, s in pays))},
            "raw_tx_info": {
                "used_nonce": None, "raw_tx": "", "unsigned_raw_tx": ser().hex(),
                "selected_utxos": [{"tx_hash": tx_display, "vout_n": 0, "address": addr, "value": coins(in_sats),
                                    "redeem_script": None, "revealed_script": None}],
                "utxo_changes": [{"address": addr, "value": coins(change_sats)}],
            },
        },
    }
    detail = {"tss_protocol": 2, "signature_type": 1, "task_id": "task-" + name, "biz_task_id": "btc-" + name,
              "group_id": "group-btc", "root_pub_key": "xpub-btc", "used_node_ids": ["node-1", "node-2"],
              "bip32_path_list": ["m/44/0/0/0/0"], "msg_hash_list": ["0x" + digest.hex()], "tweak_list": []}
    with open(f"v2-keysign-btc-{name}.extra.json", "w") as f:
        json.dump(extra, f, indent=1); f.write("\n")
    with open(f"v2-keysign-btc-{name}.detail.json", "w") as f:
        json.dump(detail, f, indent=1); f.write("\n")

P1, P2, OTHER = list(PAYEES)
B = 10**8
build("payout", "p2wpkh", 1 * B, [(P1, B // 2)], 49_990_000)
build("two-payees", "p2wpkh", 3 * B, [(P1, 120_000_000), (P2, 80_000_000)], 99_980_000)
build("unknown-payee", "p2wpkh", 1 * B, [(OTHER, 10_000_000)], 89_990_000)
build("over-cap", "p2wpkh", 3 * B, [(P1, 250_000_000)], 49_990_000)
build("high-fee", "p2wpkh", 1 * B, [(P1, B // 2)], 49_000_000)
build("legacy-input", "p2pkh", 1 * B, [(P1, B // 2)], 49_990_000)
build("daily-1", "p2wpkh", 5 * B, [(P1, 2 * B)], 299_990_000)
build("daily-2", "p2wpkh", 2 * B, [(P2, B)], 99_990_000)
# The segwit fee attack: the payout's coin again, claimed at 1.01 BTC.
build("fee-attack", "p2wpkh", 101_000_000, [(P1, B // 2)], 49_990_000, seed="payout")
