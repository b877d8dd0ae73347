// The history page checks itself, in the patient's browser, without trusting the server (TR-3).
// Each line shown must be a leaf of the transparency log under a head signed with the log's key
// (RFC 9162 §2.1.3.2), and that head must extend the last one this browser saw (§2.1.4.2),
// kept in localStorage. WebCrypto only: SHA-256, HMAC-SHA-256, Ed25519 where the browser has it.
// Sizes stay below 2^53, so arithmetic is done on Numbers, never with 32-bit bit operators.
(function () {
  "use strict";
  var data = document.getElementById("transparency-data");
  var box = document.getElementById("verification");
  if (!data || !box) return;
  var en = (document.documentElement.lang || "fr").slice(0, 2) === "en";
  var T = en ? {
    ok: "History verified", lines: " line(s) proven in the signed log", pending: " line(s) not yet in a signed head",
    tree: "signed tree of ", consistent: "; it extends the one seen on ", first: "; first check in this browser",
    nosig: "; this browser cannot check Ed25519 signatures", failed: "History NOT verified: ",
    nocrypto: "This browser cannot check the history (no WebCrypto).", nohead: "No signed head yet: the history will be checkable shortly.",
    key: "the log's key changed", keyid: "the head is not signed with the log's key", sig: "the head's signature is wrong",
    line: "line not proven: ", back: "the log went back", fork: "the log does not extend the head seen before", net: "could not reach the log: "
  } : {
    ok: "Historique vérifié", lines: " ligne(s) prouvée(s) dans le journal signé", pending: " ligne(s) pas encore dans une tête signée",
    tree: "arbre signé de taille ", consistent: " ; il prolonge celui vu le ", first: " ; première vérification dans ce navigateur",
    nosig: " ; ce navigateur ne sait pas vérifier les signatures Ed25519", failed: "Historique NON vérifié : ",
    nocrypto: "Ce navigateur ne peut pas vérifier l'historique (pas de WebCrypto).", nohead: "Pas encore de tête signée : l'historique sera vérifiable dans un instant.",
    key: "la clé du journal a changé", keyid: "la tête n'est pas signée par la clé du journal", sig: "la signature de la tête est fausse",
    line: "ligne non prouvée : ", back: "le journal a reculé", fork: "le journal ne prolonge pas la tête vue auparavant", net: "journal injoignable : "
  };
  var KEY = "carnet.transparency.key", HEAD = "carnet.transparency.head";
  var subtle = window.crypto && window.crypto.subtle;

  function say(cls, text, problems) {
    box.className = "verification " + cls;
    box.textContent = "";
    var p = document.createElement("p");
    p.textContent = text;
    box.appendChild(p);
    if (problems && problems.length) {
      var ul = document.createElement("ul");
      problems.forEach(function (m) { var li = document.createElement("li"); li.textContent = m; ul.appendChild(li); });
      box.appendChild(ul);
    }
  }
  if (!subtle) { say("failed", T.nocrypto); return; }

  function b64(s) { return Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0); }); }
  function fromHex(s) { var out = new Uint8Array(s.length / 2); for (var i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16); return out; }
  function toHex(b) { return Array.from(b, function (x) { return x.toString(16).padStart(2, "0"); }).join(""); }
  function same(a, b) { if (a.length !== b.length) return false; for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false; return true; }
  function join(parts) {
    var n = 0, o = 0; parts.forEach(function (p) { n += p.length; });
    var out = new Uint8Array(n); parts.forEach(function (p) { out.set(p, o); o += p.length; }); return out;
  }
  async function sha(parts) { return new Uint8Array(await subtle.digest("SHA-256", join(parts))); }
  function node(l, r) { return sha([Uint8Array.of(1), l, r]); }
  var odd = function (n) { return n % 2 === 1; }, half = function (n) { return Math.floor(n / 2); };

  // RFC 9162 §2.1.3.2
  async function inclusion(index, size, leaf, path, root) {
    if (index >= size) return false;
    var fn = index, sn = size - 1, r = leaf;
    for (var i = 0; i < path.length; i++) {
      if (sn === 0) return false;
      if (odd(fn) || fn === sn) {
        r = await node(path[i], r);
        if (!odd(fn)) while (fn !== 0 && !odd(fn)) { fn = half(fn); sn = half(sn); }
      } else { r = await node(r, path[i]); }
      fn = half(fn); sn = half(sn);
    }
    return sn === 0 && same(r, root);
  }
  // RFC 9162 §2.1.4.2 (first < second, first > 0)
  async function consistency(first, second, r1, r2, path) {
    if (!path.length) return false;
    if (Number.isInteger(Math.log2(first))) path = [r1].concat(path);
    var fn = first - 1, sn = second - 1;
    while (odd(fn)) { fn = half(fn); sn = half(sn); }
    var fr = path[0], sr = path[0];
    for (var i = 1; i < path.length; i++) {
      if (sn === 0) return false;
      if (odd(fn) || fn === sn) {
        fr = await node(path[i], fr); sr = await node(path[i], sr);
        if (!odd(fn)) while (fn !== 0 && !odd(fn)) { fn = half(fn); sn = half(sn); }
      } else { sr = await node(sr, path[i]); }
      fn = half(fn); sn = half(sn);
    }
    return sn === 0 && same(fr, r1) && same(sr, r2);
  }
  // TreeHeadDataV2 (RFC 9162 §4.9): timestamp, tree_size, root (length-prefixed), no extensions.
  function signedData(head) {
    var root = b64(head.root_hash), out = new Uint8Array(8 + 8 + 1 + root.length + 2), view = new DataView(out.buffer);
    view.setBigUint64(0, BigInt(head.timestamp)); view.setBigUint64(8, BigInt(head.tree_size));
    out[16] = root.length; out.set(root, 17); return out;
  }
  async function signed(head, spki) {
    try {
      var key = await subtle.importKey("spki", spki, { name: "Ed25519" }, false, ["verify"]);
      return await subtle.verify({ name: "Ed25519" }, key, b64(head.signature), signedData(head));
    } catch (e) { return null; }  // no Ed25519 in this browser
  }
  async function provenLine(id, proof) {
    var t = proof.trace;
    var chain = toHex(await sha([new TextEncoder().encode(t.prev_hash + "\n" + t.canonical)]));
    if (chain !== t.hash || JSON.parse(t.canonical).id !== id) return false;
    var hmacKey = await subtle.importKey("raw", b64(t.salt), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    var leaf = await sha([Uint8Array.of(0), new Uint8Array(await subtle.sign("HMAC", hmacKey, fromHex(t.hash)))]);
    return inclusion(proof.leaf_index, proof.tree_size, leaf, proof.inclusion_path.map(b64), b64(proof.head.root_hash));
  }

  async function check() {
    var page = JSON.parse(data.textContent), head = page.head, problems = [], notes = [];
    if (!head) { say("", T.nohead); return; }
    var key = await (await fetch(box.dataset.keyUrl, { credentials: "same-origin" })).json();
    var spki = b64(key.public_key), keyId = b64(head.key_id);
    if (localStorage.getItem(KEY) && localStorage.getItem(KEY) !== key.key_id) problems.push(T.key);
    if (!same(await sha([spki]), keyId) || key.key_id !== head.key_id) problems.push(T.keyid);
    var sig = await signed(head, spki);
    if (sig === false) problems.push(T.sig); else if (sig === null) notes.push(T.nosig);
    var items = document.querySelectorAll("ol.history > li"), proven = 0, pending = 0;
    for (var i = 0; i < page.lines.length; i++) {
      var line = page.lines[i], li = items[line.row !== undefined ? line.row : i];
      if (!line.proof) { pending++; continue; }
      var ok = line.proof.head.root_hash === head.root_hash && await provenLine(line.trace_id, line.proof);
      if (ok) { proven++; } else {
        problems.push(T.line + (li ? li.textContent.trim() : line.trace_id));
        if (li) li.classList.add("proof-failed");
      }
    }
    var seen = JSON.parse(localStorage.getItem(HEAD) || "null"), since = T.first;
    if (seen) {
      if (seen.tree_size > head.tree_size) problems.push(T.back);
      else if (seen.tree_size === head.tree_size) { if (seen.root_hash !== head.root_hash) problems.push(T.fork); }
      else {
        var url = box.dataset.consistencyUrl + "?first=" + seen.tree_size + "&second=" + head.tree_size;
        var proof = await (await fetch(url, { credentials: "same-origin" })).json();
        if (!proof.consistency_path || !await consistency(seen.tree_size, head.tree_size, b64(seen.root_hash), b64(head.root_hash), proof.consistency_path.map(b64))) problems.push(T.fork);
      }
      since = T.consistent + new Date(seen.timestamp).toLocaleString(en ? "en-GB" : "fr-FR");
    }
    if (problems.length) { say("failed", T.failed, problems); return; }
    localStorage.setItem(KEY, key.key_id);
    localStorage.setItem(HEAD, JSON.stringify({ tree_size: head.tree_size, root_hash: head.root_hash, timestamp: head.timestamp }));
    say("verified", "« " + T.ok + " » — " + proven + T.lines + (pending ? ", " + pending + T.pending : "") +
      " (" + T.tree + head.tree_size + since + notes.join("") + ").");
  }
  check().catch(function (e) { say("failed", T.failed + T.net + e); });
})();
