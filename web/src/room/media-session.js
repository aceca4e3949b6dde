// The room's media while this member is in it: a mesh (one connection per other member) or one connection to Haven's
// forwarder, as forwarded.js's reducer decides, and the tiles that show what arrives. Signals that come before their
// connection exists are kept (boundedly) and handled once it opens; a failed forwarder connection is replaced a few
// times, each a little later. In a mesh, who is speaking is measured here (speaking.js); a forwarded room is told
// (room:speakers).
import { ForwarderLink } from "./forwarder-link.js";
import { INITIAL, meshOffers, playable, step, tileView } from "./forwarded.js";
import { Mesh } from "./mesh.js";
import { createSpeakingMeter } from "./speaking.js";
import { paintFigure } from "./tiles.js";

const RECONNECT_DELAY_MS = 2000; // times the attempt: 2 s, 4 s, 6 s...
const MAX_RECONNECTS = 5;
const MAX_EARLY = 200;

const meshKey = (peerId) => `peer:${peerId}`;
const memberKey = (userId) => `user:${userId}`;

function linkLabels(state) {
  if (state === "failed" || state === "disconnected") return ["Connection trouble"];
  if (state === "new" || state === "connecting") return ["Connecting…"];
  return [];
}

function messageOf(error, fallback) {
  const message = error?.message;
  return typeof message === "string" && message.trim() ? message : fallback;
}

/**
 * @param {object} options
 * @param {import("./tiles.js").VideoGrid} options.grid the stage's tiles
 * @param {HTMLElement} options.videos the tiles' container (data-media-mode and data-forwarder are set on it)
 * @param {{figure: HTMLElement, state: HTMLElement}} options.local one's own tile
 * @param {(event: string, payload: object) => Promise<object>} options.request
 * @param {() => MediaStream|null} options.localStream what this member sends
 * @param {() => object} options.room the room state (state.js): participants and self
 * @param {(userIds: string[]) => void} options.onSpeakers who speaks changed (for the speaker view)
 * @param {(text: string|null) => void} options.onLinkNote a problem with our media connection, or null
 * @param {Map<string, RTCPeerConnection>} options.registry the open connections, for tests and debugging
 */
export function createMediaSession({ grid, videos, local, request, localStream, room, onSpeakers, onLinkNote,
  registry }) {
  let media = INITIAL;
  let mesh = null;
  let link = null;
  let reconnects = 0;
  let closed = false;
  const early = []; // rtc:signal messages that came before their connection
  const remoteTracks = new Map(); // forwarder track key -> MediaStreamTrack
  const meter = createSpeakingMeter({ onChange: (ids) => {
    if (media.media?.mode !== "mesh") return;
    apply({ type: "speakers", userIds: ids });
    onSpeakers(ids);
  } });

  const forwarded = () => media.media?.mode === "sfu";
  const participantOf = (userId) => room().participants.find((p) => p.user_id === userId) || null;
  const userOfPeer = (peerId) => room().participants.find((p) => p.peer_id === peerId)?.user_id || null;

  // -- tiles ----------------------------------------------------------------------------------------------
  function paintMeshTile(peerId) {
    const peer = mesh?.peers.get(peerId);
    const userId = peer?.userId || userOfPeer(peerId);
    grid.paint(meshKey(peerId), tileView(media, userId ? participantOf(userId) : null, userId),
      linkLabels(peer?.pc.connectionState));
  }

  // A forwarded room has a tile for every other member, showing whatever the forwarder sends in their stream.
  function paintForwardedTiles() {
    const selfId = room().self?.user_id;
    const others = room().participants.filter((p) => p.user_id !== selfId);
    const wanted = new Set(others.map((p) => memberKey(p.user_id)));
    for (const key of grid.keys()) if (!wanted.has(key)) grid.remove(key);
    const labels = linkLabels(link?.state);
    for (const p of others) {
      const key = memberKey(p.user_id);
      grid.ensure(key, p.user_id);
      grid.setTracks(key, playable(media, p.user_id).map((k) => remoteTracks.get(k)).filter(Boolean));
      grid.paint(key, tileView(media, p), labels);
    }
  }

  function paint() {
    if (forwarded()) paintForwardedTiles();
    else for (const key of grid.keys()) paintMeshTile(key.slice("peer:".length));
    const selfId = room().self?.user_id;
    if (selfId) paintFigure(local.figure, local.state, tileView(media, participantOf(selfId), selfId));
    // For tests and debugging: the way the media goes and the forwarder connection's state.
    videos.dataset.mediaMode = media.media?.mode || "";
    videos.dataset.forwarder = link ? link.state : "";
  }

  // -- the mesh -------------------------------------------------------------------------------------------
  function onMeshTrack(peer) {
    grid.ensure(meshKey(peer.id), peer.userId || "");
    grid.setTracks(meshKey(peer.id), peer.stream.getTracks());
    const audio = peer.stream.getAudioTracks()[0];
    const userId = peer.userId || userOfPeer(peer.id);
    if (audio && userId) meter.watch(userId, audio);
    paintMeshTile(peer.id);
  }

  function newMesh(iceServers, iceTransportPolicy) {
    mesh?.destroy();
    mesh = new Mesh({
      iceServers, // exactly as the server gave them (an empty list in tests: no outside STUN server)
      iceTransportPolicy, // "relay": only TURN relay candidates, so no member learns another's address
      localStream,
      send: (message) => {
        request("rtc:signal", message).then((ack) => {
          if (ack.ok === false) console.debug("haven: signal refused", ack.error?.code);
        });
      },
      onTrack: onMeshTrack,
      onState: (peer) => paintMeshTile(peer.id),
      onClosed: (peer) => {
        grid.remove(meshKey(peer.id));
        if (peer.userId) meter.unwatch(peer.userId);
      },
      registry,
    });
    const selfId = room().self?.user_id;
    const mic = localStream()?.getAudioTracks()[0];
    if (selfId && mic) meter.watch(selfId, mic);
  }

  function dropMesh() {
    mesh?.destroy();
    mesh = null;
    meter.clear();
    for (const key of grid.keys()) if (key.startsWith("peer:")) grid.remove(key);
  }

  // -- the forwarder --------------------------------------------------------------------------------------
  function trackEvent(event) {
    apply(event);
    paint();
  }

  function newLink({ peerId, iceServers, iceTransportPolicy }) {
    onLinkNote(null);
    const opened = new ForwarderLink({
      peerId,
      iceServers, // exactly as given: never a public STUN server of our own choosing
      iceTransportPolicy,
      localStream,
      send: (message) => request("rtc:signal", message),
      onTrack: ({ key, track, streamId, kind, live }) => {
        remoteTracks.set(key, track);
        trackEvent({ type: "track", key, userId: streamId, kind, live });
      },
      onTrackLive: (key, live) => trackEvent({ type: "track_live", key, live }),
      onTrackGone: (key) => {
        remoteTracks.delete(key);
        trackEvent({ type: "track_gone", key });
      },
      onState: (state) => {
        if (link !== opened) return;
        if (state === "connected") reconnects = 0;
        if (state === "failed") reconnect(opened, { peerId, iceServers, iceTransportPolicy });
        paint();
      },
      onRefused: (refusal) => {
        if (link !== opened || closed) return;
        console.warn("haven: the forwarder refused our media", refusal.code);
        const why = messageOf(refusal, "Please leave and join again.");
        onLinkNote(`We could not connect your video to the room. ${why}`);
      },
      registry,
    });
    link = opened;
    opened.start();
  }

  // A failed connection to the forwarder is replaced by a new one (a fresh offer the forwarder takes in place of
  // the old, keeping our tracks at the others), a few times, each a little later.
  function reconnect(failed, params) {
    if (reconnects >= MAX_RECONNECTS || closed) {
      onLinkNote("Your video connection to the room failed. Please leave and join again.");
      return;
    }
    reconnects += 1;
    setTimeout(() => {
      if (link !== failed || closed) return;
      dropLink();
      newLink(params);
    }, RECONNECT_DELAY_MS * reconnects);
  }

  function dropLink() {
    link?.close();
    link = null;
    remoteTracks.clear();
    onLinkNote(null);
    for (const key of grid.keys()) if (key.startsWith("user:")) grid.remove(key);
  }

  // -- forwarded.js's decisions, carried out ----------------------------------------------------------------
  function apply(event, participants = room().participants) {
    const next = step(media, event);
    media = next.state;
    for (const effect of next.effects) run(effect, participants);
  }

  function run(effect, participants) {
    switch (effect.type) {
      case "close_mesh":
        dropMesh();
        break;
      case "close_forwarder":
        dropLink();
        break;
      case "open_mesh":
        newMesh(effect.iceServers, effect.iceTransportPolicy);
        for (const { peerId, userId } of meshOffers(effect.offers, room().self, participants)) {
          mesh.connectTo(peerId, userId);
        }
        break;
      case "open_forwarder":
        newLink(effect);
        break;
      case "ice_servers":
        mesh?.setIceServers(effect.iceServers);
        link?.setIceServers(effect.iceServers);
        break;
      default:
        break;
    }
    if (effect.type.startsWith("open_")) for (const message of early.splice(0)) handleSignal(message);
  }

  function handleSignal(message) {
    if (closed || !message || typeof message !== "object" || message.from === room().self?.peer_id) return;
    if (link) {
      link.handle(message); // only the forwarder's own signals are taken
      return;
    }
    if (!mesh) {
      if (early.length < MAX_EARLY) early.push(message);
      return;
    }
    mesh.handle(message, userOfPeer(message.from));
  }

  return {
    get mode() {
      return media.media?.mode || null;
    },

    // Entering the room (also again, with a new peer id): whatever was open closes and the media starts the room's
    // way. `participants`: the entry's roster (those who came after us offer to us, in a mesh).
    enter({ media: roomMedia, participants }) {
      apply({ type: "enter", media: roomMedia }, participants);
    },
    // room:media: the room moved to the forwarder, or its forwarder moved.
    roomMedia(roomMedia) {
      apply({ type: "media", media: roomMedia });
    },
    speakers(userIds) {
      apply({ type: "speakers", userIds });
    },
    memberLeft(userId) {
      apply({ type: "member_left", userId });
    },
    // A member's mesh connection is finished (they left, or came back on a new one and will offer again).
    closePeer(peerId, userId = null) {
      if (peerId) mesh?.close(peerId);
      const stray = userId ? mesh?.peerForUser(userId) : null;
      if (stray) mesh.close(stray.id);
    },
    // After room:state: connections to anyone no longer there, or there on another connection, are finished.
    prune() {
      for (const peer of [...(mesh?.peers.values() || [])]) {
        const p = participantOf(peer.userId || userOfPeer(peer.id));
        if (!p || p.peer_id !== peer.id) mesh.close(peer.id);
      }
    },
    // Out of the room (lobby, ended, left): every media connection closes.
    leave() {
      apply({ type: "leave" });
      dropMesh();
      dropLink();
      early.length = 0;
    },
    handleSignal,
    setIceServers(iceServers) {
      mesh?.setIceServers(iceServers);
      link?.setIceServers(iceServers);
    },
    // Another track on our senders (a device switched in the room, a screen shared or not).
    async replaceTrack(kind, track) {
      await Promise.all([mesh?.replaceTrack(kind, track), link?.replaceTrack(kind, track)]);
      const selfId = room().self?.user_id;
      if (kind === "audio" && mesh && selfId && track) meter.watch(selfId, track);
    },
    // Audio may start: called from the person's own gesture (Join).
    startAudio: () => meter.start(),
    paint,
    destroy() {
      closed = true;
      this.leave();
      meter.destroy();
    },
  };
}
