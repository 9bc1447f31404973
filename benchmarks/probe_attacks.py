"""Run the issue's attacks against whichever dqgate is on PYTHONPATH; print what each read did."""
import json, os, random, shutil, tempfile
import pyarrow as pa, pyarrow.parquet as pq
from dqgate.store import write_object, publish, open_snapshot, verify_store
S = tempfile.mkdtemp()
os.environ["DQGATE_STATE_DIR"] = S + "/state"
C = {"dataset": "flights", "version": "1", "sha256": "c" * 64}
def pub(store, batch, t, status="pass", mode="append"):
    info = write_object(store, "flights", t, stamp={"batch_id": batch, "contract_sha256": "c"*64, "status": status})
    return publish(store, "flights", [info], mode=mode, contract=C, checks={"status": status}, batch_id=batch)
def t(n, s=0):
    rng = random.Random(s)
    return pa.table({"id": list(range(n)), "delay": [rng.random() for _ in range(n)]})
def attempt(name, fn):
    try:
        r = fn(); print(f"{name}: ACCEPTED -> {r}")
    except Exception as e:
        print(f"{name}: refused ({type(e).__name__}: {str(e)[:90]})")
# 1. 40 bit flips, default read
st = S + "/a"; m = pub(st, "b1", t(5000)); p = os.path.join(st, "flights", m.files[0].path); orig = open(p, "rb").read()
rnd = random.Random(12); silent = refused = same = 0
for _ in range(40):
    b = bytearray(orig); b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8); open(p, "wb").write(bytes(b))
    try:
        got = open_snapshot(st, "flights").to_arrow()
        if got.equals(t(5000)): same += 1
        else: silent += 1
    except Exception: refused += 1
open(p, "wb").write(orig)
print(f"40 bit flips, default to_arrow: {silent} silently different, {refused} refused, {same} unchanged")
# 2. with key: padded rewrite carrying old footer stamp
os.environ["DQGATE_SIGNING_KEY"] = "k"
st = S + "/b"; m = pub(st, "b1", t(200, 3)); p = os.path.join(st, "flights", m.files[0].path)
size = os.path.getsize(p); old = pq.read_metadata(p).metadata[b"dqgate.stamp"]
f = t(200, 3).set_column(1, "delay", pa.array([-7.27e253] * 200)).replace_schema_metadata({b"dqgate.stamp": old})
sink = pa.BufferOutputStream(); pq.write_table(f, sink, compression="zstd"); raw = sink.getvalue().to_pybytes()
fl = int.from_bytes(raw[-8:-4], "little"); at = len(raw) - 8 - fl; raw = raw[:at] + b"\0" * (size - len(raw)) + raw[at:]
open(p, "wb").write(raw)
def read_b():
    s = open_snapshot(st, "flights"); return (s.signature, s.to_arrow().column("delay")[0].as_py())
attempt("padded rewrite with old footer stamp (key set)", read_b)
# 3. with key: footer warn->pass
st = S + "/c"; m = pub(st, "b1", t(50), status="warn"); p = os.path.join(st, "flights", m.files[0].path)
raw = open(p, "rb").read(); open(p, "wb").write(raw.replace(b'"status":"warn"', b'"status":"pass"'))
def read_c():
    s = open_snapshot(st, "flights"); tb = s.to_arrow(); return (s.signature, json.loads(pq.read_metadata(p).metadata[b"dqgate.stamp"])["status"])
attempt("footer status warn->pass (key set)", read_c)
# 4. delete newest manifest
del os.environ["DQGATE_SIGNING_KEY"]
st = S + "/d"; pub(st, "b1", t(10)); pub(st, "b2", t(10, 1)); os.unlink(os.path.join(st, "flights", "versions", "00000002.json"))
attempt("deleted newest manifest: open latest", lambda: open_snapshot(st, "flights").version)
print("deleted newest manifest: verify_store(full) problems:", verify_store(st, "flights", full=True))
shutil.rmtree(S)
