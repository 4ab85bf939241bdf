-- Loads mod_muc_rtbl after server start, creating its pubsub node first:
-- mod_muc_rtbl never subscribes to a node that does not exist yet, and loses
-- its subscription if it loads before the pubsub host is up.
local rtbl_jid = module:get_option_string("muc_rtbl_jid");
local rtbl_node = module:get_option_string("muc_rtbl_node", "muc_bans_sha256");

module:hook_global("server-started", function()
	local host = prosody.hosts[rtbl_jid];
	local pubsub = host and host.modules.pubsub;
	if not pubsub then
		module:log("error", "steward_late_rtbl: no pubsub service at %s", rtbl_jid);
		return;
	end
	local ok, err = pubsub.service:create(rtbl_node, true);
	if not ok and err ~= "conflict" then
		module:log("error", "steward_late_rtbl: cannot create node %s: %s", rtbl_node, err);
	end
	require "core.modulemanager".load(module.host, "muc_rtbl");
end);
