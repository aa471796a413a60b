-- benchmarks/http/post_event.lua
--
-- wrk script: POST /events with a TradPal-shaped market-data event (about
-- 250 bytes, like the Python publisher's). Every answer is counted by wrk;
-- anything but 2xx shows up as "Non-2xx or 3xx responses".
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"event_type": "market_data_update", "source": "data_service", ' ..
           '"data": {"symbol": "BTC/USDT", "price": 45000.0, "volume": 1234.56, ' ..
           '"change_24h": 2.5, "timestamp": "2026-11-29T16:00:00.123456"}, ' ..
           '"metadata": {"feed": "binance", "seq": 1795969628}}'
