//! librdkafka's error codes sorted into what waiting can fix and what it
//! cannot, so that a stream rides out a broker restart but stops at once on
//! rejected credentials, a deleted topic or a fenced group member.

use rdkafka::types::RDKafkaErrorCode as Code;

/// True when the condition may clear by itself: the broker is down or
/// restarting, a leader or coordinator is moving, a request timed out.
pub fn is_retriable(code: Code) -> bool {
    matches!(
        code,
        Code::BrokerTransportFailure
            | Code::AllBrokersDown
            | Code::Resolve
            | Code::OperationTimedOut
            | Code::RequestTimedOut
            | Code::TimedOutQueue
            | Code::WaitingForCoordinator
            | Code::CoordinatorLoadInProgress
            | Code::CoordinatorNotAvailable
            | Code::NotCoordinator
            | Code::LeaderNotAvailable
            | Code::NotLeaderForPartition
            | Code::BrokerNotAvailable
            | Code::ReplicaNotAvailable
            | Code::NetworkException
            | Code::RebalanceInProgress
            | Code::Retry
            | Code::InProgress
            | Code::PreviousInProgress
            | Code::FencedLeaderEpoch
            | Code::UnknownLeaderEpoch
            | Code::NotEnoughReplicas
            | Code::KafkaStorageError
    )
}

/// True when the consumer cannot go on: someone must act (credentials,
/// permissions, the group's identity, a broken client state).
pub fn is_fatal(code: Code) -> bool {
    matches!(
        code,
        Code::Authentication
            | Code::SaslAuthenticationFailed
            | Code::UnsupportedSASLMechanism
            | Code::IllegalSASLState
            | Code::SSL
            | Code::TopicAuthorizationFailed
            | Code::GroupAuthorizationFailed
            | Code::ClusterAuthorizationFailed
            | Code::InvalidGroupId
            | Code::FencedInstanceId
            | Code::Fenced
            | Code::Fatal
            | Code::InvalidSessionTimeout
            | Code::GroupMaxSizeReached
            | Code::UnknownTopic
            | Code::UnknownTopicOrPartition
            | Code::UnknownTopicId
    )
}

/// True for the codes that say a topic is gone.
pub fn is_missing_topic(code: Code) -> bool {
    matches!(
        code,
        Code::UnknownTopic | Code::UnknownTopicOrPartition | Code::UnknownTopicId
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_retriable_and_rejections_fatal() {
        for code in [
            Code::AllBrokersDown,
            Code::WaitingForCoordinator,
            Code::NotCoordinator,
        ] {
            assert!(is_retriable(code) && !is_fatal(code), "{code:?}");
        }
        for code in [
            Code::SaslAuthenticationFailed,
            Code::UnknownTopicOrPartition,
            Code::FencedInstanceId,
        ] {
            assert!(is_fatal(code) && !is_retriable(code), "{code:?}");
        }
        assert!(is_missing_topic(Code::UnknownTopic));
    }
}
