import { graphql } from '../gql';

// Every booking operation the SPA sends. Mutations return the whole booking
// so a page can show the new state without another round trip.

export const BookingFields = graphql(`
  fragment BookingFields on Booking {
    id
    status
    startsAt
    endsAt
    timeZone
    checkInOpensAt
    checkInClosesAt
    reschedulesLeft
    canStart {
      allowed
      code
      reason
    }
    canCancel {
      allowed
      code
      reason
    }
    canReschedule {
      allowed
      code
      reason
    }
    calendarUrl
    attemptId
    updatedAt
  }
`);

export const BookingPageDocument = graphql(`
  query BookingPage($code: String!) {
    me {
      id
      timeZone
    }
    exam(code: $code) {
      code
      title
      bookable
      timeZone
      slotMinutes
      durationMinutes
      attemptsAllowed
      attemptsLeft
      policy {
        checkInOpensMinutesBefore
        cancelCutoffMinutes
        rescheduleCutoffMinutes
        maxReschedules
      }
    }
    eligibility(examCode: $code) {
      endsAt
      active
    }
    bookings(examCode: $code) {
      ...BookingFields
    }
    result(examCode: $code) {
      passed
    }
  }
`);

export const AvailableSlotsDocument = graphql(`
  query AvailableSlots($code: String!, $from: Time!, $to: Time!, $first: Int) {
    availableSlots(examCode: $code, from: $from, to: $to, first: $first) {
      startsAt
      endsAt
      seatsLeft
    }
  }
`);

export const BookSlotDocument = graphql(`
  mutation BookSlot($input: BookSlotInput!) {
    bookSlot(input: $input) {
      ...BookingFields
    }
  }
`);

export const RescheduleBookingDocument = graphql(`
  mutation RescheduleBooking($input: RescheduleBookingInput!) {
    rescheduleBooking(input: $input) {
      ...BookingFields
    }
  }
`);

export const CancelBookingDocument = graphql(`
  mutation CancelBooking($input: BookingActionInput!) {
    cancelBooking(input: $input) {
      ...BookingFields
    }
  }
`);

export const StartExamDocument = graphql(`
  mutation StartExam($input: BookingActionInput!) {
    startExam(input: $input) {
      ...BookingFields
    }
  }
`);

export const SetTimeZoneDocument = graphql(`
  mutation SetTimeZone($timeZone: String!) {
    setTimeZone(timeZone: $timeZone) {
      id
      timeZone
    }
  }
`);
