package mqtt

// Send publishes without waiting for the broker. Messages sent from one
// goroutine leave in the order they were sent; while the connection is
// being re-established paho keeps them and sends them once it is back.
// The returned channel is closed when the broker has taken the message
// or the attempt has ended.
func (c *Client) Send(topic string, qos byte, retained bool, payload []byte) <-chan struct{} {
	return c.pc.Publish(topic, qos, retained, payload).Done()
}
