import { graphql } from '../gql';

// Every operation of the exam player. The attempt is read in one round trip;
// saves return the stored row so the screen can follow the server's truth.

export const PlayerResultFields = graphql(`
  fragment PlayerResultFields on Result {
    attemptId
    examCode
    score
    maxScore
    percent
    passMark
    passed
    endedAt
    items {
      itemId
      chosen
      correctChoices
      correct
      points
      maxPoints
    }
    attemptsLeft
    delivery
  }
`);

export const PlayerAttemptFields = graphql(`
  fragment PlayerAttemptFields on Attempt {
    id
    examCode
    examTitle
    status
    startedAt
    deadline
    serverTime
    endedAt
    sections {
      title
      items {
        id
        number
        type
        stemHtml
        options {
          id
          text
        }
        points
      }
    }
    answers {
      itemId
      choices
      flagged
      clientSeq
    }
    result {
      ...PlayerResultFields
    }
  }
`);

export const PlayerAttemptDocument = graphql(`
  query PlayerAttempt($id: ID!) {
    attempt(id: $id) {
      ...PlayerAttemptFields
    }
  }
`);

/** The small reads that follow a result on its way to the learning platform. */
export const PlayerResultDeliveryDocument = graphql(`
  query PlayerResultDelivery($id: ID!) {
    attempt(id: $id) {
      id
      result {
        attemptId
        delivery
      }
    }
  }
`);

export const LatestResultDeliveryDocument = graphql(`
  query LatestResultDelivery($code: String!) {
    result(examCode: $code) {
      attemptId
      delivery
    }
  }
`);

/** The small read that re-syncs the clock and notices an attempt ended elsewhere. */
export const PlayerClockDocument = graphql(`
  query PlayerClock($id: ID!) {
    attempt(id: $id) {
      id
      status
      deadline
      serverTime
    }
  }
`);

export const PlayerSaveAnswerDocument = graphql(`
  mutation PlayerSaveAnswer($input: SaveAnswerInput!) {
    saveAnswer(input: $input) {
      itemId
      choices
      flagged
      clientSeq
      accepted
    }
  }
`);

export const PlayerFlagItemDocument = graphql(`
  mutation PlayerFlagItem($input: FlagItemInput!) {
    flagItem(input: $input) {
      itemId
      choices
      flagged
      clientSeq
      accepted
    }
  }
`);

export const PlayerSubmitDocument = graphql(`
  mutation PlayerSubmit($input: SubmitAttemptInput!) {
    submitAttempt(input: $input) {
      id
      status
    }
  }
`);

export const PlayerStartOnDemandDocument = graphql(`
  mutation PlayerStartOnDemand($input: StartOnDemandInput!) {
    startOnDemand(input: $input) {
      id
      status
    }
  }
`);

export const PlayerStartPageDocument = graphql(`
  query PlayerStartPage($code: String!) {
    me {
      id
    }
    exam(code: $code) {
      code
      title
      deliverable
      onDemand
      durationMinutes
      passMark
      itemCount
      attemptsAllowed
      attemptsLeft
    }
    eligibility(examCode: $code) {
      active
    }
    result(examCode: $code) {
      passed
    }
  }
`);
