#!/bin/sh
# The caller's Opus media for test_kamailio.py's opus case, started by
# uac_opus.xml's <exec> once the 200 OK names medius's port ($1): 3 s of a
# 1 kHz tone (150 frames of 20 ms, 48 kHz mono) as Opus, payload type 96,
# sent from @OPUS_PORT@ (the port of the caller's SDP) to 127.0.0.1:$1.
# It runs in the background and writes its pid, so that the test can wait
# for it and end it if need be. The test fills in the fields between at signs.
@GST@ -q audiotestsrc is-live=true wave=sine freq=1000 num-buffers=150 samplesperbuffer=960 \
	! audio/x-raw,rate=48000,channels=1 ! opusenc ! rtpopuspay pt=96 \
	! udpsink host=127.0.0.1 port="$1" bind-address=127.0.0.1 bind-port=@OPUS_PORT@ sync=true \
	>"@TMP@/opus_gst.log" 2>&1 &
echo $! >"@TMP@/opus_gst.pid"
