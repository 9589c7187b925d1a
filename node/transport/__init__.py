"""Transport shared by nodes and the coordinator: mTLS, sealed envelopes, party channels."""

from node.transport.channel import ChannelError, ChannelTimeout, PartyChannel, PartyUnavailable

__all__ = ["ChannelError", "ChannelTimeout", "PartyChannel", "PartyUnavailable"]
