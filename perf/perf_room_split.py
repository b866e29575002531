#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""perf/perf_room_split.py: the conference worker's CPU time split into
packet I/O, decode, mix, encode and send, from `perf record -g` of the
worker thread (perf_room_dp --only N --profile FILE records one).

Each sample is one call chain (leaf first). Walking it from the leaf
outwards, the first function named in GROUPS decides its group: a
resampler or memcpy counts for whoever called it (decode when a way in's
decoder called it, encode when an encoder did), and the room's own tick
code (FIFOs, bookkeeping) counts as mix. Polling that found nothing (the
worker loop, rx_burst outside `input`) is "loop", reported apart: it is
idle time, not work. Prints each group's share of the five (and of all
samples), and, with --list, the functions whose samples fell to "other".

  perf_room_split.py FILE [--list]
"""
import collections
import subprocess
import sys

# function name -> group; matched exactly, or by prefix when it ends in '*'
GROUPS = {
    'decode': ['cdc_src_*', 'play', 'mx_ep_in_tick', 'fifo_pcm', 'g711_decode', 'opus_decode*',
               'opus_multistream_decode*', 'mx_jb_pop*', 'mx_jb_due_ts', 'cdc_plc*', 'warm*', 'level_skip*'],
    'encode': ['cdc_sink_write', 'cdc_sink_prime*', 'mx_ep_out_encode', 'mx_ep_out_write', 'opus_encode*',
               'opus_multistream_encode*', 'prime'],
    'mix': ['mx_mixer_*', 'mx_mix_*', 'mx_limiter*', 'tick'],
    'send': ['dp_leg_send', 'mx_ep_out_send_frames', 'mx_ep_out_skip_frame', 'mx_ep_out_begin', 'send_out',
             'dp_eth_flush', 'dp_eth_send', 'dp_tx_*', 'dp_rtcp*', 'rtcp_*'],
    'packet I/O': ['input', 'dp_relay_burst', 'mx_jb_put*', 'sink', 'dp_flow_*', 'udp_parse', 'dp_eth_input*'],
    'loop': ['dp_eth_poll', 'worker_main', 'dp_clock_run', 'dp_eth_tick', 'serve_commands', 'epoll_wait',
             'rte_eth_rx_burst'],
}
FIVE = ['packet I/O', 'decode', 'mix', 'encode', 'send']


def match(sym):
    for g, names in GROUPS.items():
        for n in names:
            if n.endswith('*') and sym.startswith(n[:-1]) or sym == n:
                return g
    return None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = subprocess.run(['perf', 'script', '-i', sys.argv[1], '-F', 'ip,sym'], capture_output=True, text=True,
                         check=True).stdout
    counts = collections.Counter()
    other = collections.Counter()
    chain = []

    def flush():
        if not chain:
            return
        for sym in chain:
            g = match(sym)
            if g:
                counts[g] += 1
                break
        else:
            counts['other'] += 1
            other[chain[0]] += 1
        chain.clear()

    for line in out.splitlines():
        parts = line.split(None, 1)
        if not parts:
            flush()
            continue
        sym = parts[1] if len(parts) > 1 else '[unknown]'
        chain.append(sym.replace(' (inlined)', '').strip())
    flush()
    total = sum(counts.values())
    work = sum(counts[g] for g in FIVE)
    if not work:
        sys.exit('no samples of the worker\'s work in ' + sys.argv[1])
    print('worker CPU samples: %d (%d in the five groups, %d polling, %d other)' %
          (total, work, counts['loop'], counts['other']))
    print('%-11s %8s %9s %9s' % ('group', 'samples', 'of five', 'of all'))
    for g in FIVE + ['loop', 'other']:
        print('%-11s %8d %8.1f%% %8.1f%%' % (g, counts[g], 100.0 * counts[g] / work if g in FIVE else 0,
                                            100.0 * counts[g] / total))
    if '--list' in sys.argv:
        print('"other", by leaf function:')
        for s, n in other.most_common(20):
            print('  %6d %s' % (n, s))


if __name__ == '__main__':
    main()
