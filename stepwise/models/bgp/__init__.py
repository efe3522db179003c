"""BGP peering (RFC 4271) over our TCP model: two speakers, their FSM, their messages.

* :mod:`.fsm` -- the states, the events of §8.1 and the transition table of §8.2.2;
* :mod:`.messages` -- OPEN, UPDATE, NOTIFICATION, KEEPALIVE, with their sizes;
* :mod:`.session` -- two speakers and the TCP connection (stepwise.models.tcp) between
  them: BGP messages are the data of TCP segments;
* :mod:`.actions`, :mod:`.lesson` -- the lesson's vocabulary and compiler;
* :mod:`.scene` -- what the player draws (two layers: BGP over TCP);
* :mod:`.model` -- :class:`~.model.BgpModel`, registered as ``bgp``.
"""
